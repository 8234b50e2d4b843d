/* The few libc routines the compiler and the stand-in need. */
#include "hv.h"

void *memcpy(void *d, const void *s, size_t n)
{
	u8 *dp = d;
	const u8 *sp = s;

	while (n--)
		*dp++ = *sp++;
	return d;
}

void *memmove(void *d, const void *s, size_t n)
{
	u8 *dp = d;
	const u8 *sp = s;

	if (dp < sp || dp >= sp + n)
		return memcpy(d, s, n);
	while (n--)
		dp[n] = sp[n];
	return d;
}

void *memset(void *d, int c, size_t n)
{
	u8 *dp = d;

	while (n--)
		*dp++ = (u8)c;
	return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const u8 *ap = a, *bp = b;

	for (; n; n--, ap++, bp++)
		if (*ap != *bp)
			return *ap - *bp;
	return 0;
}

size_t strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
	for (; n; n--, a++, b++) {
		if (*a != *b)
			return (u8)*a - (u8)*b;
		if (!*a)
			break;
	}
	return 0;
}

/* Decimal, or hex with 0x; stops at the first other character. */
u32 parse_u32(const char *s, const char **end)
{
	u32 v = 0, base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (;; s++) {
		u32 d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			break;
		v = v * base + d;
	}
	if (end)
		*end = s;
	return v;
}

/* 64/32 division without libgcc (i386 has no 64-bit divide instruction). */
u64 div_u64_rem(u64 n, u32 d, u32 *rem)
{
#ifdef __x86_64__
	*rem = n % d;
	return n / d;
#else
	u32 hi = n >> 32, lo = (u32)n, qhi = hi / d, qlo, r;

	asm("divl %4" : "=a"(qlo), "=d"(r) : "a"(lo), "d"(hi % d), "rm"(d));
	*rem = r;
	return ((u64)qhi << 32) | qlo;
#endif
}
