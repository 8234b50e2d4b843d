// SPDX-License-Identifier: MIT
/*
 * power/ftdi-relay: a USB relay board driven by an FTDI FT245R/FT232R in
 * bitbang mode (libftdi1): one byte is the 8 data pins, one pin a relay.
 *
 * Keys:
 *   serial       the board's USB serial number
 *   usb_path     its USB port path, bus-port[.port...], e.g. 1-2.3 (as in
 *                /sys/bus/usb/devices); with serial too, both must match.
 *                One of them is required: the first FTDI found could be
 *                anybody's USB-serial adapter.  More than one match is
 *                refused.
 *   preset       sainsmart-4, sainsmart-8 (default), denkovi-4, denkovi-8
 *   channel      the relay, 1..N for the preset
 *   active_low   the relay closes when its pin is low (default no)
 *   button       the relay is wired across the board's power button:
 *                on = a short press, off = a long press (forced off),
 *                press = a pulse; no held levels and no power status
 *   press_time   a short press (300ms); long_press_time a long one (5s)
 *
 * Which pin is which relay (bit masks for relays 1..N):
 *   sainsmart-4/8  relay n = D(n-1): 0x01, 0x02, 0x04 ... (crelay's
 *                  relay_drv_sainsmart.c, "bit 0 = relay 1 ... 1: NO
 *                  contact closed, led on"; the boards are FT245RL)
 *   denkovi-8      relay n = D(n-1) (Denkovi DAE-CB/Ro8-USB pinout)
 *   denkovi-4      relay n = D(2n-1): 0x02, 0x08, 0x20, 0x80 (Denkovi
 *                  DAE-CB/Ro4-USB wires its relays to D1, D3, D5, D7;
 *                  terrariumPI's FTDI bitbang table maps relay 1..4 to
 *                  0x02, 0x08, 0x20, 0x80 the same way)
 * Polarity differs between board revisions: active_low says which.
 *
 * Every write is read-modify-write of the pin byte (ftdi_read_pins), so
 * the other relays on the board keep their state.  The bitbang mode is
 * left on at close: leaving it would let every relay drop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libftdi1/ftdi.h>
#include <libusb.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "power/plan.h"
#include "power/power.h"

#define DEFAULT_PRESS_MS 300
#define DEFAULT_LONG_PRESS_MS 5000
#define USB_PATH_MAX 32

struct relay_preset {
	const char *name;
	int nchannels;
	unsigned char bit[8];
};

static const struct relay_preset presets[] = {
	{ "sainsmart-4", 4, { 0x01, 0x02, 0x04, 0x08 } },
	{ "sainsmart-8", 8, { 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80 } },
	{ "denkovi-4", 4, { 0x02, 0x08, 0x20, 0x80 } },
	{ "denkovi-8", 8, { 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80 } },
	{ NULL, 0, { 0 } },
};

static const char *const ftdi_keys[] = {
	"serial", "usb_path", "preset", "channel", "active_low", "button",
	"press_time", "long_press_time", NULL
};

struct relay {
	const struct relay_preset *preset;
	int channel;
	unsigned char bit;
	bool active_low, button;
	int64_t press_ms, long_press_ms;
	struct ftdi_context *ctx;	/* made once the first action needs it */
	bool usb_open;			/* ctx has the board open */
	char where[200];		/* "serial X at 1-2.3", for messages */
};

/* "serial A1B2" / "usb path 1-2" / both: what the lab file chose. */
static void choice(struct power_dev *dev, char *buf, size_t size)
{
	const char *serial = power_param(dev, "serial");
	const char *path = power_param(dev, "usb_path");

	if (serial && path)
		snprintf(buf, size, "serial %s at usb path %s", serial, path);
	else if (serial)
		snprintf(buf, size, "serial %s", serial);
	else
		snprintf(buf, size, "usb path %s", path);
}

/* "bus-port.port..." of a USB device, as the kernel names it. */
static void usb_path_of(libusb_device *d, char *buf, size_t size)
{
	uint8_t ports[8];
	int n = libusb_get_port_numbers(d, ports, 8), i;
	size_t len;

	snprintf(buf, size, "%u", (unsigned)libusb_get_bus_number(d));
	for (i = 0; i < n; i++) {
		len = strlen(buf);
		snprintf(buf + len, size - len, "%c%u", i ? '.' : '-',
			 (unsigned)ports[i]);
	}
}

static const char *ftdi_msg(struct ftdi_context *ctx)
{
	const char *s = ftdi_get_error_string(ctx);

	return s && *s ? s : "unknown libftdi error";
}

static void relay_disconnect(struct relay *r)
{
	if (!r->ctx)
		return;
	if (r->usb_open)
		ftdi_usb_close(r->ctx);
	r->usb_open = false;
	ftdi_free(r->ctx);
	r->ctx = NULL;
}

/*
 * Find exactly one FTDI device (any of libftdi's default FTDI ids) that
 * matches serial and/or usb_path, open it and put it in bitbang mode.
 */
static int relay_connect(struct power_dev *dev)
{
	struct relay *r = dev->priv;
	const char *want_serial = power_param(dev, "serial");
	const char *want_path = power_param(dev, "usb_path");
	struct ftdi_device_list *list = NULL, *d, *match = NULL;
	struct strbuf seen = STRBUF_INIT, matched = STRBUF_INIT;
	char what[128], path[USB_PATH_MAX], serial[128];
	int n, nmatch = 0, ret = 0;

	if (r->ctx)
		return 0;
	choice(dev, what, sizeof(what));
	r->ctx = ftdi_new();
	if (!r->ctx)
		return lab_err(LAB_ENOMEM, "power driver ftdi-relay: ftdi_new failed");
	n = ftdi_usb_find_all(r->ctx, &list, 0, 0);
	if (n < 0) {
		ret = lab_err(LAB_EINFRA,
			      "power driver ftdi-relay: cannot list the USB devices: %s",
			      ftdi_msg(r->ctx));
		goto out;
	}
	for (d = list; d; d = d->next) {
		bool ok = true;

		usb_path_of(d->dev, path, sizeof(path));
		serial[0] = '\0';
		if (ftdi_usb_get_strings(r->ctx, d->dev, NULL, 0, NULL, 0,
					 serial, sizeof(serial)) < 0)
			snprintf(serial, sizeof(serial), "?");
		strbuf_addf(&seen, "%s%s (serial %s)", seen.len ? ", " : "",
			    path, serial);
		if (want_path && strcmp(want_path, path))
			ok = false;
		if (want_serial && strcmp(want_serial, serial))
			ok = false;
		if (!ok)
			continue;
		nmatch++;
		strbuf_addf(&matched, "%s%s", matched.len ? ", " : "", path);
		if (!match)
			match = d;
	}
	if (!nmatch) {
		ret = lab_err(LAB_EINFRA,
			      "power driver ftdi-relay: no FTDI board with %s (FTDI devices here: %s)",
			      what, seen.len ? strbuf_str(&seen) : "none");
		goto out;
	}
	if (nmatch > 1) {
		ret = lab_err(LAB_ECONFIG,
			      "power driver ftdi-relay: %d FTDI boards match %s (at usb paths %s); set usb_path to choose one",
			      nmatch, what, strbuf_str(&matched));
		goto out;
	}
	usb_path_of(match->dev, path, sizeof(path));
	snprintf(r->where, sizeof(r->where), "FTDI board %s at %s", what, path);
	if (ftdi_usb_open_dev(r->ctx, match->dev) < 0) {
		ret = lab_err(LAB_EINFRA, "power driver ftdi-relay: cannot open %s: %s",
			      r->where, ftdi_msg(r->ctx));
		goto out;
	}
	r->usb_open = true;
	if (ftdi_set_bitmode(r->ctx, 0xff, BITMODE_BITBANG) < 0) {
		ret = lab_err(LAB_EINFRA,
			      "power driver ftdi-relay: cannot set bitbang mode on %s: %s",
			      r->where, ftdi_msg(r->ctx));
		goto out;
	}
out:
	if (list)
		ftdi_list_free(&list);
	strbuf_release(&seen);
	strbuf_release(&matched);
	if (ret)
		relay_disconnect(r);
	return ret;
}

/* The pin level that makes the relay closed (active) or open. */
static bool pin_level(const struct relay *r, bool active)
{
	return active != r->active_low;
}

/* Read-modify-write of the relay's pin. */
static int relay_set(struct power_dev *dev, bool active)
{
	struct relay *r = dev->priv;
	unsigned char pins, out;
	int ret = relay_connect(dev);

	if (ret)
		return ret;
	if (ftdi_read_pins(r->ctx, &pins) < 0)
		return lab_err(LAB_EINFRA,
			       "power driver ftdi-relay: cannot read the pins of %s: %s",
			       r->where, ftdi_msg(r->ctx));
	out = pin_level(r, active) ? (unsigned char)(pins | r->bit) :
				     (unsigned char)(pins & ~r->bit);
	if (ftdi_write_data(r->ctx, &out, 1) != 1)
		return lab_err(LAB_EINFRA,
			       "power driver ftdi-relay: cannot switch relay %d of %s %s: %s",
			       r->channel, r->where, active ? "on" : "off",
			       ftdi_msg(r->ctx));
	return 0;
}

static int relay_pulse(struct power_dev *dev, int64_t ms)
{
	int ret = relay_set(dev, true);

	if (ret)
		return ret;
	lab_sleep_ms(ms);
	ret = relay_set(dev, false);
	if (ret) {
		char *msg = xstrdup(lab_errmsg(ret));

		ret = lab_err(-ret, "%s (the button may still be held)", msg);
		free(msg);
	}
	return ret;
}

static int ftdi_on(struct power_dev *dev)
{
	struct relay *r = dev->priv;

	return r->button ? relay_pulse(dev, r->press_ms) : relay_set(dev, true);
}

static int ftdi_off(struct power_dev *dev)
{
	struct relay *r = dev->priv;

	return r->button ? relay_pulse(dev, r->long_press_ms) :
			   relay_set(dev, false);
}

static int ftdi_press(struct power_dev *dev, bool long_press)
{
	struct relay *r = dev->priv;

	if (!r->button)
		return lab_err(LAB_ECONFIG,
			       "power driver ftdi-relay: press needs button = yes (relay %d holds a level)",
			       r->channel);
	return relay_pulse(dev, long_press ? r->long_press_ms : r->press_ms);
}

/* A level relay's state is its pin; a button says nothing of the board. */
static int ftdi_status(struct power_dev *dev, enum power_state *state)
{
	struct relay *r = dev->priv;
	unsigned char pins;
	int ret;

	*state = POWER_UNKNOWN;
	if (r->button)
		return 0;
	ret = relay_connect(dev);
	if (ret)
		return ret;
	if (ftdi_read_pins(r->ctx, &pins) < 0)
		return lab_err(LAB_EINFRA,
			       "power driver ftdi-relay: cannot read the pins of %s: %s",
			       r->where, ftdi_msg(r->ctx));
	*state = (((pins & r->bit) != 0) == pin_level(r, true)) ? POWER_ON :
								 POWER_OFF;
	return 0;
}

static void describe_set(struct relay *r, bool active, struct strbuf *out)
{
	strbuf_addstr(out, "usb: read the pin byte P\n");
	if (pin_level(r, active))
		strbuf_addf(out, "usb: write P|0x%02x (relay %d %s)\n", r->bit,
			    r->channel, active ? "closed" : "open");
	else
		strbuf_addf(out, "usb: write P&0x%02x (relay %d %s)\n",
			    (unsigned char)~r->bit, r->channel,
			    active ? "closed" : "open");
}

static void describe_pulse(struct relay *r, int64_t ms, struct strbuf *out)
{
	describe_set(r, true, out);
	strbuf_addf(out, "wait %lld ms\n", (long long)ms);
	describe_set(r, false, out);
}

static int ftdi_describe(struct power_dev *dev, const char *action,
			 struct strbuf *out)
{
	struct relay *r = dev->priv;
	char what[128];

	if (strcmp(action, "on") && strcmp(action, "off") &&
	    strcmp(action, "cycle") && strcmp(action, "reset") &&
	    strcmp(action, "status") && strcmp(action, "press") &&
	    strcmp(action, "press long"))
		return lab_err(LAB_EINVAL, "power driver ftdi-relay: no action '%s'",
			       action);
	if (!r->button && !strncmp(action, "press", 5))
		return ftdi_press(dev, false);
	choice(dev, what, sizeof(what));
	if (!strcmp(action, "status") && r->button) {
		strbuf_addstr(out, "nothing: a power button has no state (unknown)\n");
		return 0;
	}
	strbuf_addf(out, "usb: open the FTDI board with %s, bitbang mode, mask 0xff (%s relay %d, bit 0x%02x, %s)\n",
		    what, r->preset->name, r->channel, r->bit,
		    r->active_low ? "active low" : "active high");
	if (!strcmp(action, "status")) {
		strbuf_addf(out, "usb: read the pin byte P: on when P&0x%02x is %s\n",
			    r->bit, r->active_low ? "0" : "set");
	} else if (!strcmp(action, "on")) {
		if (r->button)
			describe_pulse(r, r->press_ms, out);
		else
			describe_set(r, true, out);
	} else if (!strcmp(action, "off")) {
		if (r->button)
			describe_pulse(r, r->long_press_ms, out);
		else
			describe_set(r, false, out);
	} else if (!strcmp(action, "press")) {
		describe_pulse(r, r->press_ms, out);
	} else if (!strcmp(action, "press long")) {
		describe_pulse(r, r->long_press_ms, out);
	} else {
		/* cycle, reset: the core's fallback, off, wait, on. */
		if (r->button)
			describe_pulse(r, r->long_press_ms, out);
		else
			describe_set(r, false, out);
		strbuf_addf(out, "wait %lld ms\n", (long long)dev->cfg.off_time_ms);
		if (r->button)
			describe_pulse(r, r->press_ms, out);
		else
			describe_set(r, true, out);
	}
	return 0;
}

static int parse_channel(struct power_dev *dev, struct relay *r)
{
	const char *c = power_param(dev, "channel");
	char *end;
	long v;

	r->channel = 1;
	if (!c)
		return 0;
	v = strtol(c, &end, 10);
	if (end == c || *end || v < 1 || v > r->preset->nchannels)
		return lab_err(LAB_ECONFIG,
			       "power driver ftdi-relay: channel=%s is out of range for preset %s (1..%d)",
			       c, r->preset->name, r->preset->nchannels);
	r->channel = (int)v;
	return 0;
}

static int ftdi_open_dev(struct power_dev *dev, const struct power_config *cfg)
{
	struct relay *r = xzalloc(sizeof(*r));
	const char *preset = power_param(dev, "preset");
	const char *serial = power_param(dev, "serial");
	const char *path = power_param(dev, "usb_path");
	int i, ret;

	(void)cfg;
	dev->priv = r;
	if ((!serial || !*serial) && (!path || !*path)) {
		ret = lab_err(LAB_ECONFIG,
			      "power driver ftdi-relay needs serial = the board's USB serial number or usb_path = its USB port (e.g. 1-2.3): it never takes the first FTDI device found");
		goto fail;
	}
	if (!preset)
		preset = "sainsmart-8";
	for (i = 0; presets[i].name; i++)
		if (!strcmp(presets[i].name, preset))
			r->preset = &presets[i];
	if (!r->preset) {
		ret = lab_err(LAB_ECONFIG,
			      "power driver ftdi-relay: unknown preset '%s' (sainsmart-4, sainsmart-8, denkovi-4, denkovi-8)",
			      preset);
		goto fail;
	}
	if ((ret = parse_channel(dev, r)) ||
	    (ret = power_param_bool(dev, "active_low", false, &r->active_low)) ||
	    (ret = power_param_bool(dev, "button", false, &r->button)) ||
	    (ret = power_param_ms(dev, "press_time", DEFAULT_PRESS_MS,
				  &r->press_ms)) ||
	    (ret = power_param_ms(dev, "long_press_time", DEFAULT_LONG_PRESS_MS,
				  &r->long_press_ms)))
		goto fail;
	r->bit = r->preset->bit[r->channel - 1];
	return 0;
fail:
	free(r);
	dev->priv = NULL;
	return ret;
}

static void ftdi_close_dev(struct power_dev *dev)
{
	struct relay *r = dev->priv;

	if (!r)
		return;
	relay_disconnect(r);
	free(r);
	dev->priv = NULL;
}

/* The keys this driver takes in a lab file's [power] section, declared once
 * here: labctl/labconf.c checks and shows them from this table. */
static const struct lab_key_def ftdi_relay_lab_keys[] = {
	{ "power", "serial", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "FTDI board serial number" },
	{ "power", "usb_path", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "FTDI board USB bus path, e.g. 1-1.4" },
	{ "power", "preset", KEY_ENUM, "sainsmart-8", "sainsmart-4|sainsmart-8|denkovi-4|denkovi-8", 0, 0, NULL,
	  "relay board wiring preset" },
	{ "power", "channel", KEY_INT, "1", NULL, 1, 16, NULL,
	  "relay channel (1-based)" },
	{ "power", "active_low", KEY_BOOL, "no", NULL, 0, 0, NULL,
	  "the relay or line is active low" },
	{ "power", "button", KEY_BOOL, "no", NULL, 0, 0, NULL,
	  "the relay or line is wired to the power button (pulses, not levels)" },
	{ "power", "press_time", KEY_DURATION, "300ms", NULL, 0, 0, NULL,
	  "how long a short button press (on, press) lasts" },
	{ "power", "long_press_time", KEY_DURATION, "5s", NULL, 0, 0, NULL,
	  "how long a long button press (off, press --long) lasts" },
	{ NULL, NULL, 0, NULL, NULL, 0, 0, NULL, NULL }
};

const struct power_driver power_driver_ftdi_relay = {
	.name = "ftdi-relay",
	.description = "USB relay board on an FTDI chip in bitbang mode (SainSmart, Denkovi)",
	.caps = POWER_CAP_ON | POWER_CAP_OFF | POWER_CAP_STATUS | POWER_CAP_PRESS,
	.keys = ftdi_keys,
	.lab_keys = ftdi_relay_lab_keys,
	.open = ftdi_open_dev,
	.close = ftdi_close_dev,
	.on = ftdi_on,
	.off = ftdi_off,
	.status = ftdi_status,
	.press = ftdi_press,
	.describe = ftdi_describe,
};
