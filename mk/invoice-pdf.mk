# KSeF FA(3) and PDF renderers (sidecar/invoice/ksef.c, pdf.c): the test
# and bench tool, its sanitizer build, the FA(3) fuzz target.  Included by
# the Makefile.  Links every sidecar/invoice source (the model is pure C),
# pango/cairo, libxml2 and jansson.

INVPDF_SRCS   = $(wildcard sidecar/invoice/*.c)
INVPDF_HDRS   = $(wildcard sidecar/invoice/*.h)
INVPDF_CFLAGS := $(CORE_CFLAGS) -Isidecar \
                 $(shell pkg-config --cflags pangocairo libxml-2.0)
INVPDF_LIBS   := $(shell pkg-config --libs pangocairo libxml-2.0) -ljansson

.PHONY: invoice-pdf-tools

invoice-pdf-tools: $(BUILD)/invoice-render $(BUILD)/asan/invoice-render

# t/invoice/20-ksef-validation.t, t/invoice/30-pdf.t, the bench mode
$(BUILD)/invoice-render: t/tools/invoice_render.c $(wildcard sidecar/invoice/*.c) \
        $(wildcard sidecar/invoice/*.h)
	@mkdir -p $(BUILD)
	$(CC) $(INVPDF_CFLAGS) -pthread -o $@ $< $(INVPDF_SRCS) $(INVPDF_LIBS)

$(BUILD)/asan/invoice-render: t/tools/invoice_render.c \
        $(wildcard sidecar/invoice/*.c) $(wildcard sidecar/invoice/*.h)
	@mkdir -p $(BUILD)/asan
	$(CC) $(INVPDF_CFLAGS) -pthread -O1 -fsanitize=address,undefined \
	    -fno-omit-frame-pointer -o $@ $< $(INVPDF_SRCS) $(INVPDF_LIBS)

# API JSON -> invoice_from_json -> invoice_compute -> the FA(3) renderer
$(BUILD)/fuzz/fuzz_invoice_ksef: t/fuzz/fuzz_invoice_ksef.c \
        $(wildcard sidecar/invoice/*.c) $(wildcard sidecar/invoice/*.h)
	@mkdir -p $(BUILD)/fuzz
	clang -std=c11 -D_GNU_SOURCE -g -O1 -Isidecar \
	    $(shell pkg-config --cflags pangocairo libxml-2.0) \
	    -fsanitize=fuzzer,address,undefined -o $@ $< $(INVPDF_SRCS) \
	    $(INVPDF_LIBS)

# make tools (and so make test) builds the tool the t/invoice suites run
tools: $(BUILD)/invoice-render
