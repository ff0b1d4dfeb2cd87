# an invoice from a synced order (sidecar/invoice/from_order.c): its unit
# test and fuzz target.  Included by the Makefile.
#
# This file is included before mk/invoice.mk (sorted names), so its
# prerequisites cannot use INVOICE_SRCS, which is not set yet: they name
# every sidecar/invoice source instead.  The recipes, expanded when they
# run, link exactly $(INVOICE_SRCS) plus from_order.c.

INVORDER_SRCS := sidecar/invoice/from_order.c
INVORDER_DEPS := $(wildcard sidecar/invoice/*.c sidecar/invoice/*.h)

$(BUILD)/unit/test_invoice_order: t/unit/test_invoice_order.c \
        $(INVORDER_DEPS)
	@mkdir -p $(BUILD)/unit
	$(CC) $(INVOICE_CFLAGS) -O1 -fsanitize=address,undefined \
	    -fno-omit-frame-pointer -o $@ $< $(INVOICE_SRCS) \
	    $(INVORDER_SRCS) $(INVOICE_LIBS) -lcmocka

# arbitrary bytes as an order -> invoice_from_order -> json and ubl
$(BUILD)/fuzz/fuzz_invoice_order: t/fuzz/fuzz_invoice_order.c \
        $(INVORDER_DEPS)
	@mkdir -p $(BUILD)/fuzz
	clang -std=c11 -D_GNU_SOURCE -g -O1 -Isidecar \
	    $(shell pkg-config --cflags libxml-2.0) \
	    -fsanitize=fuzzer,address,undefined -o $@ $< $(INVOICE_SRCS) \
	    $(INVORDER_SRCS) $(INVOICE_LIBS)
