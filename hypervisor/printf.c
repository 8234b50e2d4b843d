/*
 * A small vsnprintf (%c %s %d %u %x %p, l/ll/z, width, 0 and - flags) and
 * hv_printf, which writes whole lines under the console lock so lines from
 * different CPUs never interleave.
 */
#include "hv.h"

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_num(struct out *o, u64 v, u32 base, int width, char pad,
		    int neg, int left)
{
	char tmp[24];
	int n = 0, i;

	do {
		u32 r;

		v = div_u64_rem(v, base, &r);
		tmp[n++] = "0123456789abcdef"[r];
	} while (v);
	if (neg)
		tmp[n++] = '-';
	if (!left)
		for (i = n; i < width; i++)
			put(o, pad);
	while (n)
		put(o, tmp[--n]);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		int width = 0, lng = 0, left = 0;
		size_t start;
		char pad = ' ';
		u64 v;

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '-') {
			left = 1;
			fmt++;
		}
		if (*fmt == '0') {
			pad = '0';
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + *fmt++ - '0';
		while (*fmt == 'l' || *fmt == 'z') {
			lng += *fmt == 'z' ? (sizeof(size_t) == 8 ? 2 : 0) : 1;
			fmt++;
		}
		start = o.len;
		switch (*fmt) {
		case 'c':
			put(&o, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);
			size_t n = s ? strlen(s) : 6;

			if (!s)
				s = "(null)";
			if (!left)
				for (; (int)n < width; width--)
					put(&o, ' ');
			while (*s)
				put(&o, *s++);
			break;
		}
		case 'd': {
			long long sv = lng >= 2 ? va_arg(ap, long long) :
				       lng ? va_arg(ap, long) : va_arg(ap, int);

			put_num(&o, sv < 0 ? -(u64)sv : (u64)sv, 10, width,
				pad, sv < 0, left);
			break;
		}
		case 'u':
		case 'x':
			v = lng >= 2 ? va_arg(ap, unsigned long long) :
			    lng ? va_arg(ap, unsigned long) :
				  va_arg(ap, unsigned int);
			put_num(&o, v, *fmt == 'u' ? 10 : 16, width, pad, 0,
				left);
			break;
		case 'p':
			put(&o, '0');
			put(&o, 'x');
			put_num(&o, (uintptr_t)va_arg(ap, void *), 16, width,
				pad, 0, 0);
			break;
		case '%':
			put(&o, '%');
			break;
		default:	/* unknown: print it, do not guess */
			put(&o, '%');
			if (*fmt)
				put(&o, *fmt);
			else
				fmt--;
			break;
		}
		if (left)
			while (o.len - start < (size_t)width)
				put(&o, ' ');
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* Under the console lock; '\n' becomes "\r\n" with crlf=1. */
static void write_locked(const char *s, size_t n)
{
	size_t i, start = 0;

	if (!cfg.crlf) {
		uart_write(s, n);
		return;
	}
	for (i = 0; i < n; i++) {
		if (s[i] != '\n')
			continue;
		uart_write(s + start, i - start);
		uart_write("\r\n", 2);
		start = i + 1;
	}
	uart_write(s + start, n - start);
}

void hv_write_raw(const char *s, size_t n)
{
	console_lock();
	write_locked(s, n);
	console_unlock();
}

void hv_printf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf))
		n = sizeof(buf) - 1;
	console_lock();
	write_locked(buf, n);
	console_unlock();
	/* HV_OPT_SLOW: the delay is outside the lock, per CPU */
	if (cfg.opt & HV_OPT_SLOW)
		delay_ms(cfg.slow_ms);
}
