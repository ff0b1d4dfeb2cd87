# invoice core (sidecar/invoice): unit tests, fuzz target, generator and
# validator tool, bench.  Included by the Makefile.  ksef.c (the FA(3)
# renderer, libxml2 only) is linked too, so that the fuzz target and the
# registry exercise it; pdf.c needs pangocairo and stays a weak stub here.

INVOICE_SRCS   := sidecar/invoice/decimal.c sidecar/invoice/invoice.c \
                  sidecar/invoice/compute.c sidecar/invoice/json.c \
                  sidecar/invoice/ubl.c sidecar/invoice/render.c \
                  $(wildcard sidecar/invoice/ksef.c)
INVOICE_HDRS   := sidecar/invoice/decimal.h sidecar/invoice/invoice.h
INVOICE_CFLAGS := $(CORE_CFLAGS) -Isidecar \
                  $(shell pkg-config --cflags libxml-2.0)
INVOICE_LIBS   := $(shell pkg-config --libs libxml-2.0) -ljansson -pthread

.PHONY: invoice-tools

invoice-tools: $(BUILD)/invoice-gen

$(BUILD)/unit/test_invoice_decimal: t/unit/test_invoice_decimal.c \
        $(INVOICE_SRCS) $(INVOICE_HDRS)
	@mkdir -p $(BUILD)/unit
	$(CC) $(INVOICE_CFLAGS) -O1 -fsanitize=address,undefined \
	    -fno-omit-frame-pointer -o $@ $< $(INVOICE_SRCS) $(INVOICE_LIBS) \
	    -lcmocka

$(BUILD)/unit/test_invoice_totals: t/unit/test_invoice_totals.c \
        $(INVOICE_SRCS) $(INVOICE_HDRS)
	@mkdir -p $(BUILD)/unit
	$(CC) $(INVOICE_CFLAGS) -O1 -fsanitize=address,undefined \
	    -fno-omit-frame-pointer -o $@ $< $(INVOICE_SRCS) $(INVOICE_LIBS) \
	    -lcmocka

$(BUILD)/fuzz/fuzz_invoice_json: t/fuzz/fuzz_invoice_json.c $(INVOICE_SRCS) \
        $(INVOICE_HDRS)
	@mkdir -p $(BUILD)/fuzz
	clang -std=c11 -D_GNU_SOURCE -g -O1 -Isidecar \
	    $(shell pkg-config --cflags libxml-2.0) \
	    -fsanitize=fuzzer,address,undefined -o $@ $< $(INVOICE_SRCS) \
	    $(INVOICE_LIBS)

# the generator, XSD validator and bench (t/invoice/10-ubl-validation.t,
# bench/invoice.sh)
$(BUILD)/invoice-gen: t/tools/invoice_gen.c $(INVOICE_SRCS) $(INVOICE_HDRS)
	@mkdir -p $(BUILD)
	$(CC) $(INVOICE_CFLAGS) -o $@ $< $(INVOICE_SRCS) $(INVOICE_LIBS)

# make tools (and so make test) builds what t/invoice/10-ubl-validation.t
# runs
tools: $(BUILD)/invoice-gen
