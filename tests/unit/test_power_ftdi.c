// SPDX-License-Identifier: MIT
/*
 * power/ftdi.c down to the libftdi calls: every libftdi (and the two
 * libusb) call the driver makes is wrapped by a fake USB bus of FTDI
 * boards whose pin byte is a variable, and lab_sleep_ms is wrapped so a
 * button pulse's timing is checked without waiting.
 */
/* WRAP: ftdi_new,ftdi_free,ftdi_usb_find_all,ftdi_list_free,ftdi_usb_get_strings,ftdi_usb_open_dev,ftdi_set_bitmode,ftdi_read_pins,ftdi_write_data,ftdi_usb_close,ftdi_get_error_string,libusb_get_bus_number,libusb_get_port_numbers,lab_sleep_ms */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libftdi1/ftdi.h>
#include <libusb.h>

#include "lib/err.h"
#include "lib/strbuf.h"
#include "power/power.h"

/* ------------------------------------------------------------ the fake bus */

struct fake_board {
	const char *serial;
	uint8_t bus;
	uint8_t ports[4];
	int nports;
	unsigned char pins;
};

static struct fake_board boards[4];
static int nboards;
static struct ftdi_device_list nodes[4];
static struct ftdi_context fake_ctx;
static struct fake_board *opened;	/* the board ftdi_usb_open_dev chose */
static struct strbuf calls = STRBUF_INIT;	/* what the driver did, in order */
static int live_ctx;			/* ftdi_new minus ftdi_free */
static bool fail_find, fail_open, fail_bitmode, fail_read, fail_write;
static int fail_write_after = -1;	/* fail the write after N good ones */

static void reset_bus(void)
{
	memset(boards, 0, sizeof(boards));
	nboards = 0;
	opened = NULL;
	strbuf_reset(&calls);
	fail_find = fail_open = fail_bitmode = fail_read = fail_write = false;
	fail_write_after = -1;
}

static struct fake_board *add_board(const char *serial, uint8_t bus,
				    const char *ports, unsigned char pins)
{
	struct fake_board *b = &boards[nboards++];
	const char *p;

	b->serial = serial;
	b->bus = bus;
	b->pins = pins;
	for (p = ports; *p; p++)
		if (*p >= '0' && *p <= '9')
			b->ports[b->nports++] = (uint8_t)(*p - '0');
	return b;
}

static struct fake_board *board_of(struct libusb_device *d)
{
	return (struct fake_board *)d;
}

struct ftdi_context *__wrap_ftdi_new(void);
struct ftdi_context *__wrap_ftdi_new(void)
{
	strbuf_addstr(&calls, "new;");
	live_ctx++;
	return &fake_ctx;
}

void __wrap_ftdi_free(struct ftdi_context *ftdi);
void __wrap_ftdi_free(struct ftdi_context *ftdi)
{
	assert_ptr_equal(ftdi, &fake_ctx);
	strbuf_addstr(&calls, "free;");
	live_ctx--;
}

int __wrap_ftdi_usb_find_all(struct ftdi_context *ftdi,
			     struct ftdi_device_list **devlist, int vendor,
			     int product);
int __wrap_ftdi_usb_find_all(struct ftdi_context *ftdi,
			     struct ftdi_device_list **devlist, int vendor,
			     int product)
{
	int i;

	assert_ptr_equal(ftdi, &fake_ctx);
	/* 0, 0: every FTDI id libftdi knows, never one fixed board. */
	assert_int_equal(vendor, 0);
	assert_int_equal(product, 0);
	strbuf_addstr(&calls, "find_all;");
	*devlist = NULL;
	if (fail_find)
		return -5;
	for (i = nboards - 1; i >= 0; i--) {
		nodes[i].dev = (struct libusb_device *)&boards[i];
		nodes[i].next = *devlist;
		*devlist = &nodes[i];
	}
	return nboards;
}

void __wrap_ftdi_list_free(struct ftdi_device_list **devlist);
void __wrap_ftdi_list_free(struct ftdi_device_list **devlist)
{
	strbuf_addstr(&calls, "list_free;");
	*devlist = NULL;
}

int __wrap_ftdi_usb_get_strings(struct ftdi_context *ftdi,
				struct libusb_device *dev, char *manufacturer,
				int mnf_len, char *description, int desc_len,
				char *serial, int serial_len);
int __wrap_ftdi_usb_get_strings(struct ftdi_context *ftdi,
				struct libusb_device *dev, char *manufacturer,
				int mnf_len, char *description, int desc_len,
				char *serial, int serial_len)
{
	(void)ftdi;
	(void)manufacturer;
	(void)mnf_len;
	(void)description;
	(void)desc_len;
	if (!board_of(dev)->serial)
		return -4;	/* unreadable (busy) */
	snprintf(serial, (size_t)serial_len, "%s", board_of(dev)->serial);
	return 0;
}

uint8_t __wrap_libusb_get_bus_number(libusb_device *dev);
uint8_t __wrap_libusb_get_bus_number(libusb_device *dev)
{
	return board_of(dev)->bus;
}

int __wrap_libusb_get_port_numbers(libusb_device *dev, uint8_t *ports, int len);
int __wrap_libusb_get_port_numbers(libusb_device *dev, uint8_t *ports, int len)
{
	struct fake_board *b = board_of(dev);

	assert_true(len >= b->nports);
	memcpy(ports, b->ports, (size_t)b->nports);
	return b->nports;
}

int __wrap_ftdi_usb_open_dev(struct ftdi_context *ftdi, struct libusb_device *dev);
int __wrap_ftdi_usb_open_dev(struct ftdi_context *ftdi, struct libusb_device *dev)
{
	assert_ptr_equal(ftdi, &fake_ctx);
	strbuf_addf(&calls, "open %s;", board_of(dev)->serial ?
		    board_of(dev)->serial : "?");
	if (fail_open)
		return -8;
	opened = board_of(dev);
	return 0;
}

int __wrap_ftdi_set_bitmode(struct ftdi_context *ftdi, unsigned char bitmask,
			    unsigned char mode);
int __wrap_ftdi_set_bitmode(struct ftdi_context *ftdi, unsigned char bitmask,
			    unsigned char mode)
{
	(void)ftdi;
	assert_non_null(opened);
	strbuf_addf(&calls, "bitmode 0x%02x %d;", bitmask, mode);
	return fail_bitmode ? -1 : 0;
}

int __wrap_ftdi_read_pins(struct ftdi_context *ftdi, unsigned char *pins);
int __wrap_ftdi_read_pins(struct ftdi_context *ftdi, unsigned char *pins)
{
	(void)ftdi;
	assert_non_null(opened);
	strbuf_addstr(&calls, "read;");
	if (fail_read)
		return -1;
	*pins = opened->pins;
	return 0;
}

int __wrap_ftdi_write_data(struct ftdi_context *ftdi, const unsigned char *buf,
			   int size);
int __wrap_ftdi_write_data(struct ftdi_context *ftdi, const unsigned char *buf,
			   int size)
{
	(void)ftdi;
	assert_non_null(opened);
	assert_int_equal(size, 1);
	if (fail_write || fail_write_after == 0) {
		strbuf_addf(&calls, "write 0x%02x failed;", buf[0]);
		return -1;
	}
	if (fail_write_after > 0)
		fail_write_after--;
	strbuf_addf(&calls, "write 0x%02x;", buf[0]);
	opened->pins = buf[0];
	return 1;
}

int __wrap_ftdi_usb_close(struct ftdi_context *ftdi);
int __wrap_ftdi_usb_close(struct ftdi_context *ftdi)
{
	(void)ftdi;
	strbuf_addstr(&calls, "close;");
	opened = NULL;
	return 0;
}

const char *__wrap_ftdi_get_error_string(struct ftdi_context *ftdi);
const char *__wrap_ftdi_get_error_string(struct ftdi_context *ftdi)
{
	(void)ftdi;
	return "fake libftdi error";
}

void __wrap_lab_sleep_ms(int64_t ms);
void __wrap_lab_sleep_ms(int64_t ms)
{
	strbuf_addf(&calls, "sleep %lld;", (long long)ms);
}

/* ------------------------------------------------------------ helpers */

static int setup(void **state)
{
	(void)state;
	reset_bus();
	live_ctx = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(live_ctx, 0);
	return 0;
}

static int open_relay(struct power_dev **dev, const struct lab_param *p, int n)
{
	struct power_config cfg = {
		.driver = "ftdi-relay", .params = p, .nparams = n,
		.off_time_ms = 2000,
	};

	return power_open(dev, &cfg);
}

/* The calls since the last look, then forget them. */
static char *take_calls(void)
{
	char *s = strdup(strbuf_str(&calls));

	strbuf_reset(&calls);
	return s;
}

#define assert_calls(want)                                                  \
	do {                                                                \
		char *got_ = take_calls();                                  \
		assert_string_equal(got_, want);                            \
		free(got_);                                                 \
	} while (0)

/* ------------------------------------------------------------ tests */

static void test_registered(void **state)
{
	(void)state;
	assert_int_equal(power_drivers_selftest(), 0);
	assert_non_null(power_find_driver("ftdi-relay"));
}

/* Every preset, channel and polarity: the exact byte, other bits kept. */
static void test_preset_bytes(void **state)
{
	static const struct {
		const char *preset;
		int n;
		unsigned char bit[8];
	} want[] = {
		{ "sainsmart-4", 4, { 0x01, 0x02, 0x04, 0x08 } },
		{ "sainsmart-8", 8, { 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80 } },
		{ "denkovi-4", 4, { 0x02, 0x08, 0x20, 0x80 } },
		{ "denkovi-8", 8, { 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80 } },
	};
	static const unsigned char start[] = { 0x00, 0xff, 0xa5, 0x5a };
	size_t i, s;
	int ch, low;

	(void)state;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		for (ch = 1; ch <= want[i].n; ch++) {
			for (low = 0; low < 2; low++) {
				for (s = 0; s < sizeof(start); s++) {
					char chs[4];
					struct lab_param p[] = {
						{ "serial", "RELAY1" },
						{ "preset", want[i].preset },
						{ "channel", chs },
						{ "active_low", low ? "yes" : "no" },
					};
					unsigned char bit = want[i].bit[ch - 1];
					unsigned char on = low ? start[s] & ~bit : start[s] | bit;
					unsigned char off = low ? start[s] | bit : start[s] & ~bit;
					struct fake_board *b;
					struct power_dev *dev;
					enum power_state st;

					reset_bus();
					add_board("OTHER", 1, "3", 0x00);
					b = add_board("RELAY1", 1, "2.4", start[s]);
					snprintf(chs, sizeof(chs), "%d", ch);
					assert_int_equal(open_relay(&dev, p, 4), 0);
					/* Opening touches no USB. */
					assert_calls("");
					assert_int_equal(power_on(dev), 0);
					assert_int_equal(b->pins, on);
					assert_int_equal(power_status(dev, &st), 0);
					assert_int_equal(st, POWER_ON);
					assert_int_equal(power_off(dev), 0);
					assert_int_equal(b->pins, off);
					assert_int_equal(power_status(dev, &st), 0);
					assert_int_equal(st, POWER_OFF);
					/* The other board was never opened. */
					assert_int_equal(boards[0].pins, 0x00);
					power_close(dev);
				}
			}
		}
	}
}

/* The exact libftdi call sequence of one level switch. */
static void test_call_sequence(void **state)
{
	struct lab_param p[] = {
		{ "serial", "RELAY1" }, { "preset", "denkovi-4" }, { "channel", "3" },
	};
	struct power_dev *dev;

	(void)state;
	add_board("RELAY1", 2, "1.1", 0x81);
	assert_int_equal(open_relay(&dev, p, 3), 0);
	assert_int_equal(power_on(dev), 0);
	assert_calls("new;find_all;open RELAY1;bitmode 0xff 1;list_free;read;write 0xa1;");
	/* The board stays open for the next action. */
	assert_int_equal(power_off(dev), 0);
	assert_calls("read;write 0x81;");
	power_close(dev);
	/* Bitbang mode is kept at close: leaving it would drop every relay. */
	assert_calls("close;free;");
}

static void test_button_pulses(void **state)
{
	struct lab_param p[] = {
		{ "usb_path", "3-1.2" }, { "preset", "sainsmart-4" },
		{ "channel", "2" }, { "button", "yes" },
	};
	struct lab_param q[] = {
		{ "serial", "B" }, { "preset", "sainsmart-8" }, { "channel", "8" },
		{ "button", "yes" }, { "active_low", "yes" },
		{ "press_time", "1s" }, { "long_press_time", "7s" },
	};
	struct fake_board *b;
	struct power_dev *dev;
	enum power_state st;

	(void)state;
	add_board("A", 3, "1.3", 0x10);
	b = add_board(NULL, 3, "1.2", 0x10);	/* no readable serial: path */
	assert_int_equal(open_relay(&dev, p, 4), 0);
	assert_int_equal(power_on(dev), 0);
	assert_calls("new;find_all;open ?;bitmode 0xff 1;list_free;"
		     "read;write 0x12;sleep 300;read;write 0x10;");
	assert_int_equal(power_off(dev), 0);
	assert_calls("read;write 0x12;sleep 5000;read;write 0x10;");
	assert_int_equal(power_press(dev, false), 0);
	assert_calls("read;write 0x12;sleep 300;read;write 0x10;");
	assert_int_equal(power_press(dev, true), 0);
	assert_calls("read;write 0x12;sleep 5000;read;write 0x10;");
	/* cycle: the core's fallback, long press, off_time, short press. */
	assert_int_equal(power_cycle(dev), 0);
	assert_calls("read;write 0x12;sleep 5000;read;write 0x10;sleep 2000;"
		     "read;write 0x12;sleep 300;read;write 0x10;");
	/* A button has no power state: nothing is read. */
	assert_int_equal(power_status(dev, &st), 0);
	assert_int_equal(st, POWER_UNKNOWN);
	assert_calls("");
	assert_int_equal(b->pins, 0x10);
	power_close(dev);
	strbuf_reset(&calls);

	/* Active low with its own durations. */
	reset_bus();
	b = add_board("B", 1, "1", 0xff);
	assert_int_equal(open_relay(&dev, q, 7), 0);
	assert_int_equal(power_press(dev, false), 0);
	assert_calls("new;find_all;open B;bitmode 0xff 1;list_free;"
		     "read;write 0x7f;sleep 1000;read;write 0xff;");
	assert_int_equal(power_off(dev), 0);
	assert_calls("read;write 0x7f;sleep 7000;read;write 0xff;");
	power_close(dev);
}

static void test_choose_board(void **state)
{
	struct lab_param by_path[] = { { "usb_path", "1-2.3" } };
	struct lab_param both[] = { { "serial", "S" }, { "usb_path", "1-4" } };
	struct lab_param serial[] = { { "serial", "S" } };
	struct power_dev *dev;

	(void)state;
	add_board("S", 1, "2.3", 0);
	add_board("S", 1, "4", 0);
	/* Two boards with one serial: usb_path says which. */
	assert_int_equal(open_relay(&dev, serial, 1), 0);
	assert_int_equal(power_on(dev), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG),
			"2 FTDI boards match serial S (at usb paths 1-2.3, 1-4); set usb_path");
	/* Nothing was opened or written, and the context is gone. */
	assert_calls("new;find_all;list_free;free;");
	power_close(dev);

	assert_int_equal(open_relay(&dev, both, 2), 0);
	assert_int_equal(power_on(dev), 0);
	/* The default: sainsmart-8, channel 1. */
	assert_int_equal(boards[0].pins, 0x00);
	assert_int_equal(boards[1].pins, 0x01);
	power_close(dev);
	strbuf_reset(&calls);
	boards[1].pins = 0;

	assert_int_equal(open_relay(&dev, by_path, 1), 0);
	assert_int_equal(power_on(dev), 0);
	assert_int_equal(boards[0].pins, 0x01);
	assert_int_equal(boards[1].pins, 0x00);
	power_close(dev);
}

static void test_not_found(void **state)
{
	struct lab_param p[] = { { "serial", "NOPE" } };
	struct lab_param q[] = { { "usb_path", "9-9" } };
	struct power_dev *dev;

	(void)state;
	add_board("A1", 1, "2", 0);
	add_board(NULL, 2, "1.5", 0);
	assert_int_equal(open_relay(&dev, p, 1), 0);
	assert_int_equal(power_on(dev), -LAB_EINFRA);
	assert_string_equal(lab_errmsg(-LAB_EINFRA),
			    "power driver ftdi-relay: no FTDI board with serial NOPE (FTDI devices here: 1-2 (serial A1), 2-1.5 (serial ?))");
	power_close(dev);
	assert_int_equal(open_relay(&dev, q, 1), 0);
	assert_int_equal(power_off(dev), -LAB_EINFRA);
	assert_contains(lab_errmsg(-LAB_EINFRA), "no FTDI board with usb path 9-9");
	power_close(dev);
	reset_bus();
	assert_int_equal(open_relay(&dev, q, 1), 0);
	assert_int_equal(power_on(dev), -LAB_EINFRA);
	assert_contains(lab_errmsg(-LAB_EINFRA), "(FTDI devices here: none)");
	power_close(dev);
}

static void test_usb_errors(void **state)
{
	struct lab_param p[] = { { "serial", "A" }, { "channel", "4" } };
	struct lab_param b[] = { { "serial", "A" }, { "button", "yes" } };
	struct power_dev *dev;
	enum power_state st;

	(void)state;
	add_board("A", 1, "2", 0x00);

	fail_find = true;
	assert_int_equal(open_relay(&dev, p, 2), 0);
	assert_int_equal(power_on(dev), -LAB_EINFRA);
	assert_string_equal(lab_errmsg(-LAB_EINFRA),
			    "power driver ftdi-relay: cannot list the USB devices: fake libftdi error");
	power_close(dev);
	fail_find = false;

	fail_open = true;
	assert_int_equal(open_relay(&dev, p, 2), 0);
	assert_int_equal(power_on(dev), -LAB_EINFRA);
	assert_contains(lab_errmsg(-LAB_EINFRA),
			"cannot open FTDI board serial A at 1-2: fake libftdi error");
	power_close(dev);
	fail_open = false;

	fail_bitmode = true;
	assert_int_equal(open_relay(&dev, p, 2), 0);
	assert_int_equal(power_on(dev), -LAB_EINFRA);
	assert_contains(lab_errmsg(-LAB_EINFRA), "cannot set bitbang mode");
	power_close(dev);
	fail_bitmode = false;

	fail_read = true;
	assert_int_equal(open_relay(&dev, p, 2), 0);
	assert_int_equal(power_on(dev), -LAB_EINFRA);
	assert_contains(lab_errmsg(-LAB_EINFRA), "cannot read the pins");
	assert_int_equal(power_status(dev, &st), -LAB_EINFRA);
	assert_int_equal(st, POWER_UNKNOWN);
	power_close(dev);
	fail_read = false;
	assert_int_equal(boards[0].pins, 0x00);

	fail_write = true;
	assert_int_equal(open_relay(&dev, p, 2), 0);
	assert_int_equal(power_on(dev), -LAB_EINFRA);
	assert_string_equal(lab_errmsg(-LAB_EINFRA),
			    "power driver ftdi-relay: cannot switch relay 4 of FTDI board serial A at 1-2 on: fake libftdi error");
	power_close(dev);
	fail_write = false;
	assert_int_equal(boards[0].pins, 0x00);

	/* The release of a pulse fails: say the button may be held. */
	fail_write_after = 1;
	assert_int_equal(open_relay(&dev, b, 2), 0);
	assert_int_equal(power_press(dev, false), -LAB_EINFRA);
	assert_contains(lab_errmsg(-LAB_EINFRA), "(the button may still be held)");
	assert_int_equal(boards[0].pins, 0x01);
	power_close(dev);
	strbuf_reset(&calls);
}

static void test_config_errors(void **state)
{
	struct lab_param none[] = { { "channel", "1" } };
	struct lab_param range[] = { { "serial", "A" }, { "preset", "denkovi-4" },
				     { "channel", "5" } };
	struct lab_param zero[] = { { "serial", "A" }, { "channel", "0" } };
	struct lab_param preset[] = { { "serial", "A" }, { "preset", "acme-3" } };
	struct lab_param dur[] = { { "serial", "A" }, { "press_time", "soon" } };
	struct lab_param bool_[] = { { "serial", "A" }, { "button", "maybe" } };
	struct lab_param unknown[] = { { "serial", "A" }, { "host", "x" } };
	struct lab_param level[] = { { "serial", "A" } };
	struct power_dev *dev;
	struct strbuf out = STRBUF_INIT;

	(void)state;
	assert_int_equal(open_relay(&dev, none, 1), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG),
			"needs serial = the board's USB serial number or usb_path");
	assert_int_equal(open_relay(&dev, range, 3), -LAB_ECONFIG);
	assert_string_equal(lab_errmsg(-LAB_ECONFIG),
			    "power driver ftdi-relay: channel=5 is out of range for preset denkovi-4 (1..4)");
	assert_int_equal(open_relay(&dev, zero, 2), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "preset sainsmart-8 (1..8)");
	assert_int_equal(open_relay(&dev, preset, 2), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "unknown preset 'acme-3'");
	assert_int_equal(open_relay(&dev, dur, 2), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "press_time=soon");
	assert_int_equal(open_relay(&dev, bool_, 2), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "button=maybe");
	assert_int_equal(open_relay(&dev, unknown, 2), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "takes no key 'host'");
	/* press on a level relay is refused, in --dry-run too. */
	assert_int_equal(open_relay(&dev, level, 1), 0);
	assert_int_equal(power_press(dev, false), -LAB_ECONFIG);
	assert_contains(lab_errmsg(-LAB_ECONFIG), "press needs button = yes");
	assert_int_equal(dev->drv->describe(dev, "press", &out), -LAB_ECONFIG);
	power_close(dev);
	assert_calls("");
	strbuf_release(&out);
}

static void test_describe(void **state)
{
	struct lab_param lvl[] = { { "serial", "A1" }, { "preset", "denkovi-4" },
				   { "channel", "2" } };
	struct lab_param low[] = { { "usb_path", "1-2" }, { "channel", "3" },
				   { "active_low", "yes" } };
	struct lab_param btn[] = { { "serial", "A1" }, { "button", "yes" },
				   { "preset", "sainsmart-4" }, { "channel", "4" } };
	struct strbuf out = STRBUF_INIT;
	struct power_dev *dev;

	(void)state;
	add_board("A1", 1, "2", 0);
	assert_int_equal(open_relay(&dev, lvl, 3), 0);
	assert_int_equal(dev->drv->describe(dev, "on", &out), 0);
	assert_string_equal(strbuf_str(&out),
			    "usb: open the FTDI board with serial A1, bitbang mode, mask 0xff (denkovi-4 relay 2, bit 0x08, active high)\n"
			    "usb: read the pin byte P\n"
			    "usb: write P|0x08 (relay 2 closed)\n");
	strbuf_reset(&out);
	assert_int_equal(dev->drv->describe(dev, "cycle", &out), 0);
	assert_string_equal(strbuf_str(&out),
			    "usb: open the FTDI board with serial A1, bitbang mode, mask 0xff (denkovi-4 relay 2, bit 0x08, active high)\n"
			    "usb: read the pin byte P\n"
			    "usb: write P&0xf7 (relay 2 open)\n"
			    "wait 2000 ms\n"
			    "usb: read the pin byte P\n"
			    "usb: write P|0x08 (relay 2 closed)\n");
	power_close(dev);

	strbuf_reset(&out);
	assert_int_equal(open_relay(&dev, low, 3), 0);
	assert_int_equal(dev->drv->describe(dev, "on", &out), 0);
	assert_contains(strbuf_str(&out), "with usb path 1-2,");
	assert_contains(strbuf_str(&out), "(sainsmart-8 relay 3, bit 0x04, active low)");
	assert_contains(strbuf_str(&out), "usb: write P&0xfb (relay 3 closed)\n");
	strbuf_reset(&out);
	assert_int_equal(dev->drv->describe(dev, "status", &out), 0);
	assert_contains(strbuf_str(&out), "on when P&0x04 is 0");
	power_close(dev);

	strbuf_reset(&out);
	assert_int_equal(open_relay(&dev, btn, 4), 0);
	assert_int_equal(dev->drv->describe(dev, "press long", &out), 0);
	assert_string_equal(strbuf_str(&out),
			    "usb: open the FTDI board with serial A1, bitbang mode, mask 0xff (sainsmart-4 relay 4, bit 0x08, active high)\n"
			    "usb: read the pin byte P\n"
			    "usb: write P|0x08 (relay 4 closed)\n"
			    "wait 5000 ms\n"
			    "usb: read the pin byte P\n"
			    "usb: write P&0xf7 (relay 4 open)\n");
	strbuf_reset(&out);
	assert_int_equal(dev->drv->describe(dev, "on", &out), 0);
	assert_contains(strbuf_str(&out), "wait 300 ms\n");
	strbuf_reset(&out);
	assert_int_equal(dev->drv->describe(dev, "status", &out), 0);
	assert_string_equal(strbuf_str(&out),
			    "nothing: a power button has no state (unknown)\n");
	power_close(dev);
	/* Describing touched no USB at all. */
	assert_calls("");
	assert_int_equal(boards[0].pins, 0);
	strbuf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_registered),
		cmocka_unit_test_setup_teardown(test_preset_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_sequence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_button_pulses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_choose_board, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usb_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_describe, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
