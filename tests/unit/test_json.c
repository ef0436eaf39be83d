// SPDX-License-Identifier: GPL-2.0
/* The JSON helpers every JSON output goes through: names that JSON must escape. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "util.h"

/* What json__write_line printed, parsed back. */
static struct json_object *round_trip(struct json_object *o, char **text)
{
	size_t len = 0;
	FILE *f = open_memstream(text, &len);
	struct json_object *back;

	cr_assert_eq(json__write_line(f, o), 0);
	fclose(f);
	cr_assert_eq(strchr(*text, '\n'), *text + len - 1, "one line: '%s'", *text);
	back = json_tokener_parse(*text);
	cr_assert_not_null(back, "not JSON: '%s'", *text);
	return back;
}

Test(json, names_with_quotes_backslashes_and_controls)
{
	static const char *const names[] = {"q\"uote", "back\\slash", "tab\there", "nl\nx",
					    "uncore_imc/cas_count_read/"};
	struct json_object *o = json_object_new_object(), *back, *v;
	char *text = NULL;
	size_t i;

	for (i = 0; i < 5; i++) {
		cr_assert_eq(json__add(o, names[i], json__number(i + 0.5, "%.3f")), 0);
		cr_assert_eq(json__add(o, "name", json__string(names[i])), 0);
	}
	back = round_trip(o, &text);
	for (i = 0; i < 5; i++) {
		cr_assert(json_object_object_get_ex(back, names[i], &v), "key %s lost: %s",
			  names[i], text);
		cr_expect_float_eq(json_object_get_double(v), i + 0.5, 1e-9);
	}
	cr_assert(json_object_object_get_ex(back, "name", &v));
	cr_expect_str_eq(json_object_get_string(v), "uncore_imc/cas_count_read/");
	json_object_put(back);
	free(text);
}

Test(json, bytes_that_are_not_utf8_become_replacement_characters)
{
	struct json_object *o = json_object_new_object(), *back, *v;
	char *text = NULL;

	json__add(o,
		  "bad\xff"
		  "key",
		  json__string("comm\xc3"));
	back = round_trip(o, &text);
	cr_assert(json_object_object_get_ex(back, "bad\xef\xbf\xbdkey", &v), "%s", text);
	cr_expect_str_eq(json_object_get_string(v), "comm\xef\xbf\xbd");
	json_object_put(back);
	free(text);
}

Test(json, numbers_keep_their_format_and_non_finite_ones_are_null)
{
	struct json_object *o = json_object_new_object(), *back, *v;
	char *text = NULL;

	json__add(o, "t", json__number(0.25, "%.3f"));
	json__add(o, "nan", json__number(NAN, "%.6g"));
	json__add(o, "inf", json__number(INFINITY, "%.6g"));
	back = round_trip(o, &text);
	cr_expect(strstr(text, "\"t\": 0.250"), "%s", text);
	cr_assert(json_object_object_get_ex(back, "nan", &v));
	cr_expect(json_object_is_type(v, json_type_null), "%s", text);
	cr_assert(json_object_object_get_ex(back, "inf", &v));
	cr_expect(json_object_is_type(v, json_type_null), "%s", text);
	json_object_put(back);
	free(text);
}
