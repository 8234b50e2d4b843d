// SPDX-License-Identifier: MIT
/*
 * power/gpio: a GPIO line (libgpiod 1.6) on a relay or a power button.
 *
 * Keys:
 *   chip         the GPIO chip: gpiochip0, /dev/gpiochip0, its number or
 *                its label (gpiod_chip_open_lookup); required
 *   line         the line's offset on that chip, or its name; required
 *   active_low   the relay or button is active when the line is low
 *   button       the line drives the power button: on = a short press,
 *                off = a long press (forced off), press = a pulse; no
 *                power status
 *   press_time   a short press (300ms); long_press_time a long one (5s)
 *
 * A line keeps its value only while a process holds it requested: once
 * released, the kernel may let it float or reset it.  So:
 *   - button = yes: every action is a pulse inside this process (request
 *     inactive, set active, wait, set inactive, release);
 *   - button = no (a relay that holds the board's power): on and off start
 *     a holder, a small child process (detached, in its own session) that
 *     requests the line at the level and sleeps.  Its pid, start time and
 *     level are in STATE_DIR/gpio-CHIP-LINE.pid; the next on or off stops
 *     it (SIGTERM, after checking /proc/PID/stat's start time so a reused
 *     pid is never hit) and starts one with the new level.  Between the
 *     two the line is released for a moment.  status is the level the
 *     holder keeps, unknown when none runs.  The holder outlives labctl,
 *     as a relay's level should.
 * Refusing levels altogether would leave a relay on a GPIO line unusable,
 * and a long-running labctl cannot hold it either: `labctl power on` ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gpiod.h>

#include "lib/clock.h"
#include "lib/err.h"
#include "lib/fileio.h"
#include "lib/strbuf.h"
#include "lib/xmalloc.h"
#include "power/plan.h"
#include "power/power.h"

#define DEFAULT_PRESS_MS 300
#define DEFAULT_LONG_PRESS_MS 5000
#define HOLDER_START_TIMEOUT_MS 5000
#define HOLDER_STOP_TIMEOUT_MS 2000
#define CONSUMER "labctl"

static const char *const gpio_keys[] = {
	"chip", "line", "active_low", "button", "press_time",
	"long_press_time", NULL
};

struct gpio {
	const char *chip;
	const char *line;
	bool by_name;
	unsigned int offset;
	bool active_low, button;
	int64_t press_ms, long_press_ms;
	char *pid_path;		/* level mode */
};

static int level(const struct gpio *g, bool active)
{
	return active != g->active_low;
}

/* Open the chip and request the line as an output at value. */
static int request_line(struct gpio *g, int value, struct gpiod_chip **chipp,
			struct gpiod_line **linep)
{
	struct gpiod_chip *chip;
	struct gpiod_line *line;
	int e;

	*chipp = NULL;
	*linep = NULL;
	chip = gpiod_chip_open_lookup(g->chip);
	if (!chip)
		return lab_err(LAB_EINFRA, "power driver gpio: cannot open GPIO chip %s: %s",
			       g->chip, strerror(errno));
	line = g->by_name ? gpiod_chip_find_line(chip, g->line) :
			    gpiod_chip_get_line(chip, g->offset);
	if (!line) {
		gpiod_chip_close(chip);
		return lab_err(LAB_ECONFIG, "power driver gpio: GPIO chip %s has no line %s",
			       g->chip, g->line);
	}
	if (gpiod_line_request_output(line, CONSUMER, value) < 0) {
		e = errno;
		gpiod_chip_close(chip);
		return lab_err(LAB_EINFRA,
			       "power driver gpio: cannot request line %s of %s as an output: %s%s",
			       g->line, g->chip, strerror(e),
			       e == EBUSY ? " (another program holds it)" : "");
	}
	*chipp = chip;
	*linep = line;
	return 0;
}

static void release_line(struct gpiod_chip *chip, struct gpiod_line *line)
{
	gpiod_line_release(line);
	gpiod_chip_close(chip);
}

static int pulse(struct power_dev *dev, int64_t ms)
{
	struct gpio *g = dev->priv;
	struct gpiod_chip *chip;
	struct gpiod_line *line;
	int ret = request_line(g, level(g, false), &chip, &line);

	if (ret)
		return ret;
	if (gpiod_line_set_value(line, level(g, true)) < 0) {
		ret = lab_err(LAB_EINFRA, "power driver gpio: cannot set line %s of %s: %s",
			      g->line, g->chip, strerror(errno));
		release_line(chip, line);
		return ret;
	}
	lab_sleep_ms(ms);
	if (gpiod_line_set_value(line, level(g, false)) < 0)
		ret = lab_err(LAB_EINFRA,
			      "power driver gpio: cannot release the button on line %s of %s: %s (released the line: its level is now the kernel's)",
			      g->line, g->chip, strerror(errno));
	release_line(chip, line);
	return ret;
}

/* ------------------------------------------------------------ holder */

/* Field 22 of /proc/PID/stat, the start time; 0 when pid is gone. */
static unsigned long long start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long t = 0;
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* after "pid (comm)" */
	if (!p || p[1] != ' ' || p[2] == 'Z')
		return 0;
	for (i = 3; p && i <= 22; i++)
		p = strchr(p + 1, ' ');
	if (p)
		t = strtoull(p + 1, NULL, 10);
	return t;
}

/* The running holder (pid, and the level it keeps), or 0. */
static pid_t find_holder(struct gpio *g, bool *active)
{
	struct strbuf sb = STRBUF_INIT;
	long long pid = 0;
	unsigned long long st = 0;
	char lv[8] = "";

	if (strbuf_read_file(&sb, g->pid_path, 256)) {
		lab_err_clear();
		return 0;
	}
	if (sscanf(strbuf_str(&sb), "%lld %llu %7s", &pid, &st, lv) != 3 ||
	    pid <= 0 || start_time((pid_t)pid) != st)
		pid = 0;
	strbuf_release(&sb);
	*active = !strcmp(lv, "on");
	return (pid_t)pid;
}

static int holder_stop(struct gpio *g)
{
	bool active;
	pid_t pid = find_holder(g, &active);
	unsigned long long st = pid ? start_time(pid) : 0;
	int64_t deadline;

	if (pid) {
		kill(pid, SIGTERM);
		deadline = lab_mono_ms() + HOLDER_STOP_TIMEOUT_MS;
		while (start_time(pid) == st && lab_mono_ms() < deadline)
			lab_sleep_ms(10);
		if (start_time(pid) == st) {
			kill(pid, SIGKILL);
			lab_sleep_ms(50);
		}
		if (start_time(pid) == st)
			return lab_err(LAB_EINFRA,
				       "power driver gpio: the holder of line %s of %s (pid %d) does not stop",
				       g->line, g->chip, (int)pid);
	}
	if (unlink(g->pid_path) < 0 && errno != ENOENT)
		return lab_err_errno(errno, "power driver gpio: cannot remove %s",
				     g->pid_path);
	return 0;
}

/* In the holder: request the line, say so on fd, then sleep until killed. */
static void __attribute__((noreturn)) holder_main(struct gpio *g, int value,
						  int fd)
{
	struct gpiod_chip *chip;
	struct gpiod_line *line;
	int i, ret, null;

	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	for (i = 0; i < 1024; i++)
		if (i != fd)
			close(i);
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	ret = request_line(g, value, &chip, &line);
	if (ret) {
		dprintf(fd, "error %s\n", lab_errmsg(ret));
		_exit(1);
	}
	dprintf(fd, "ok %d\n", (int)getpid());
	close(fd);
	for (;;)
		pause();
}

static int read_report(int fd, struct strbuf *sb)
{
	int64_t deadline = lab_mono_ms() + HOLDER_START_TIMEOUT_MS;
	char buf[512];

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - lab_mono_ms();
		ssize_t n;

		if (left <= 0)
			return -LAB_ETIMEDOUT;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return -LAB_EIO;
		n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return 0;
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -LAB_EIO;
		if (n > 0)
			strbuf_add(sb, buf, (size_t)n);
	}
}

static int mkdir_p(const char *dir)
{
	char *path = xstrdup(dir), *p, c;
	int ret = 0;

	for (p = path + 1; ; p++) {
		if (*p && *p != '/')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			ret = lab_err_errno(errno, "power driver gpio: cannot create %s",
					    path);
			break;
		}
		*p = c;
		if (!c)
			break;
	}
	free(path);
	return ret;
}

static int holder_start(struct power_dev *dev, bool active)
{
	struct gpio *g = dev->priv;
	struct strbuf rep = STRBUF_INIT, pidline = STRBUF_INIT;
	int pfd[2], status, ret, hpid = 0;
	pid_t a;

	ret = holder_stop(g);
	if (ret)
		return ret;
	ret = mkdir_p(dev->cfg.state_dir);
	if (ret)
		return ret;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return lab_err_errno(errno, "pipe");
	fflush(NULL);
	a = fork();
	if (a < 0) {
		ret = lab_err_errno(errno, "power driver gpio: cannot fork the holder");
		close(pfd[0]);
		close(pfd[1]);
		return ret;
	}
	if (a == 0) {
		pid_t b;

		close(pfd[0]);
		setsid();
		b = fork();
		if (b != 0)
			_exit(b < 0 ? 1 : 0);
		holder_main(g, level(g, active), pfd[1]);
	}
	close(pfd[1]);
	waitpid(a, &status, 0);
	ret = read_report(pfd[0], &rep);
	close(pfd[0]);
	if (!ret && sscanf(strbuf_str(&rep), "ok %d", &hpid) == 1 && hpid > 0) {
		strbuf_addf(&pidline, "%d %llu %s\n", hpid, start_time(hpid),
			    active ? "on" : "off");
		ret = lab_write_file_atomic(g->pid_path, strbuf_str(&pidline),
					    pidline.len, 0600);
		if (ret)
			kill(hpid, SIGTERM);
	} else if (!ret && !strncmp(strbuf_str(&rep), "error ", 6)) {
		strbuf_rtrim(&rep);
		ret = lab_err(LAB_EINFRA, "%s", strbuf_str(&rep) + 6);
	} else {
		ret = lab_err(LAB_EINFRA,
			      "power driver gpio: the holder of line %s of %s did not start",
			      g->line, g->chip);
	}
	strbuf_release(&rep);
	strbuf_release(&pidline);
	return ret;
}

/* ------------------------------------------------------------ ops */

static int gpio_on(struct power_dev *dev)
{
	struct gpio *g = dev->priv;

	return g->button ? pulse(dev, g->press_ms) : holder_start(dev, true);
}

static int gpio_off(struct power_dev *dev)
{
	struct gpio *g = dev->priv;

	return g->button ? pulse(dev, g->long_press_ms) : holder_start(dev, false);
}

static int gpio_press(struct power_dev *dev, bool long_press)
{
	struct gpio *g = dev->priv;

	if (!g->button)
		return lab_err(LAB_ECONFIG,
			       "power driver gpio: press needs button = yes (line %s holds a level)",
			       g->line);
	return pulse(dev, long_press ? g->long_press_ms : g->press_ms);
}

static int gpio_status(struct power_dev *dev, enum power_state *state)
{
	struct gpio *g = dev->priv;
	bool active;

	*state = POWER_UNKNOWN;
	if (!g->button && find_holder(g, &active))
		*state = active ? POWER_ON : POWER_OFF;
	return 0;
}

static void describe_pulse(struct gpio *g, int64_t ms, struct strbuf *out)
{
	strbuf_addf(out, "gpio: request line %s of %s as an output at %d (inactive)\n",
		    g->line, g->chip, level(g, false));
	strbuf_addf(out, "gpio: set %d (pressed)\n", level(g, true));
	strbuf_addf(out, "wait %lld ms\n", (long long)ms);
	strbuf_addf(out, "gpio: set %d (released), release the line\n",
		    level(g, false));
}

static void describe_hold(struct gpio *g, bool active, struct strbuf *out)
{
	strbuf_addf(out, "stop the holder in %s, if one runs\n", g->pid_path);
	strbuf_addf(out, "start a holder: request line %s of %s as an output at %d (%s) and keep it; its pid in %s\n",
		    g->line, g->chip, level(g, active), active ? "on" : "off",
		    g->pid_path);
}

static int gpio_describe(struct power_dev *dev, const char *action,
			 struct strbuf *out)
{
	struct gpio *g = dev->priv;
	bool cyc = !strcmp(action, "cycle") || !strcmp(action, "reset");

	if (!strcmp(action, "status")) {
		if (g->button)
			strbuf_addstr(out, "nothing: a power button has no state (unknown)\n");
		else
			strbuf_addf(out, "read %s: the level its holder keeps (unknown when none runs)\n",
				    g->pid_path);
		return 0;
	}
	if (!strncmp(action, "press", 5)) {
		if (!g->button)
			return gpio_press(dev, false);
		describe_pulse(g, strcmp(action, "press") ? g->long_press_ms :
			       g->press_ms, out);
		return 0;
	}
	if (strcmp(action, "on") && strcmp(action, "off") && !cyc)
		return lab_err(LAB_EINVAL, "power driver gpio: no action '%s'",
			       action);
	if (strcmp(action, "on")) {	/* off, and a cycle's first half */
		if (g->button)
			describe_pulse(g, g->long_press_ms, out);
		else
			describe_hold(g, false, out);
		if (!cyc)
			return 0;
		strbuf_addf(out, "wait %lld ms\n", (long long)dev->cfg.off_time_ms);
	}
	if (g->button)
		describe_pulse(g, g->press_ms, out);
	else
		describe_hold(g, true, out);
	return 0;
}

static void safe_name(struct strbuf *sb, const char *s)
{
	for (; *s; s++)
		strbuf_addch(sb, (*s == '/' || *s == ' ') ? '_' : *s);
}

static void gpio_close(struct power_dev *dev)
{
	struct gpio *g = dev->priv;

	if (!g)
		return;
	free(g->pid_path);
	free(g);
	dev->priv = NULL;
}

static int gpio_open(struct power_dev *dev, const struct power_config *cfg)
{
	struct gpio *g = xzalloc(sizeof(*g));
	const char *p;
	char *end;
	int ret;

	dev->priv = g;
	g->chip = power_param(dev, "chip");
	g->line = power_param(dev, "line");
	if (!g->chip || !*g->chip) {
		ret = lab_err(LAB_ECONFIG,
			      "power driver gpio needs chip = the GPIO chip (e.g. gpiochip0)");
		goto fail;
	}
	if (!g->line || !*g->line) {
		ret = lab_err(LAB_ECONFIG,
			      "power driver gpio needs line = the line's offset or name on %s",
			      g->chip);
		goto fail;
	}
	for (p = g->line; *p >= '0' && *p <= '9'; p++)
		;
	g->by_name = *p != '\0';
	if (!g->by_name) {
		unsigned long v = strtoul(g->line, &end, 10);

		if (v > 65535) {
			ret = lab_err(LAB_ECONFIG, "power driver gpio: line=%s: no such offset",
				      g->line);
			goto fail;
		}
		g->offset = (unsigned int)v;
	}
	if ((ret = power_param_bool(dev, "active_low", false, &g->active_low)) ||
	    (ret = power_param_bool(dev, "button", false, &g->button)) ||
	    (ret = power_param_ms(dev, "press_time", DEFAULT_PRESS_MS,
				  &g->press_ms)) ||
	    (ret = power_param_ms(dev, "long_press_time", DEFAULT_LONG_PRESS_MS,
				  &g->long_press_ms)))
		goto fail;
	if (!g->button) {
		struct strbuf sb = STRBUF_INIT;

		if (!cfg->state_dir) {
			ret = lab_err(LAB_ECONFIG,
				      "power driver gpio: a held level (button = no) needs a state directory for its holder");
			goto fail;
		}
		strbuf_addf(&sb, "%s/gpio-", cfg->state_dir);
		safe_name(&sb, g->chip);
		strbuf_addch(&sb, '-');
		safe_name(&sb, g->line);
		strbuf_addstr(&sb, ".pid");
		g->pid_path = strbuf_detach(&sb, NULL);
	}
	return 0;
fail:
	gpio_close(dev);
	return ret;
}

/* The keys this driver takes in a lab file's [power] section, declared once
 * here: labctl/labconf.c checks and shows them from this table. */
static const struct lab_key_def gpio_lab_keys[] = {
	{ "power", "active_low", KEY_BOOL, "no", NULL, 0, 0, NULL,
	  "the relay or line is active low" },
	{ "power", "chip", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "GPIO chip, e.g. gpiochip0" },
	{ "power", "line", KEY_STR, NULL, NULL, 0, 0, NULL,
	  "GPIO line number or name" },
	{ "power", "button", KEY_BOOL, "no", NULL, 0, 0, NULL,
	  "the relay or line is wired to the power button (pulses, not levels)" },
	{ "power", "press_time", KEY_DURATION, "300ms", NULL, 0, 0, NULL,
	  "how long a short button press (on, press) lasts" },
	{ "power", "long_press_time", KEY_DURATION, "5s", NULL, 0, 0, NULL,
	  "how long a long button press (off, press --long) lasts" },
	{ NULL, NULL, 0, NULL, NULL, 0, 0, NULL, NULL }
};

const struct power_driver power_driver_gpio = {
	.name = "gpio",
	.description = "a GPIO line (libgpiod) on a relay or the power button",
	.caps = POWER_CAP_ON | POWER_CAP_OFF | POWER_CAP_STATUS | POWER_CAP_PRESS,
	.keys = gpio_keys,
	.lab_keys = gpio_lab_keys,
	.open = gpio_open,
	.close = gpio_close,
	.on = gpio_on,
	.off = gpio_off,
	.status = gpio_status,
	.press = gpio_press,
	.describe = gpio_describe,
};
