// SPDX-License-Identifier: GPL-2.0
/*
 * UTF-8 validation for names written into XML and JSON: process names are 16 bytes cut
 * anywhere, symbols and folded inputs are arbitrary bytes.
 */
#include "flamegraph.h"

size_t utf8__char_len(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned int cp, min;
	size_t n, i;

	if (!len)
		return 0;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2, cp = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3, cp = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4, cp = s[0] & 0x07, min = 0x10000;
	} else {
		return 0; /* a continuation byte, 0xc0/0xc1 (overlong) or beyond U+10FFFF */
	}
	if (len < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates, and beyond U+10FFFF are not characters */
	if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

size_t utf8__boundary(const char *s, size_t len, size_t cut)
{
	size_t i = cut;

	if (cut >= len)
		return len;
	/* back over continuation bytes to the start of the character cut splits */
	while (i > 0 && cut - i < 3 && ((unsigned char)s[i] & 0xc0) == 0x80)
		i--;
	if (i < cut && utf8__char_len(s + i, len - i) > cut - i)
		return i;
	return cut;
}
