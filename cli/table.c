/* cli/table.c: aligned tables and key/value listings for edgectl's default (human) output. */
#include "cli/table.h"

#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

/* Cells wider than this are cut with "..." so one long value cannot wreck the table. */
#define CLI_CELL_MAX 72

json_t *cli_json_path(json_t *obj, const char *path)
{
	char part[128];

	while (obj != NULL && *path != '\0') {
		size_t n = strcspn(path, ".");
		if (n >= sizeof part || !json_is_object(obj))
			return NULL;
		memcpy(part, path, n);
		part[n] = '\0';
		obj = json_object_get(obj, part);
		path += n;
		if (*path == '.')
			path++;
	}
	return obj;
}

static bool is_scalar(json_t *v)
{
	return json_is_string(v) || json_is_number(v) || json_is_boolean(v) || json_is_null(v);
}

static bool append_scalar(struct buf *b, json_t *v)
{
	if (v == NULL || json_is_null(v))
		return buf_puts(b, "-");
	if (json_is_string(v))
		return buf_append(b, json_string_value(v), json_string_length(v));
	if (json_is_integer(v))
		return buf_printf(b, "%lld", (long long)json_integer_value(v));
	if (json_is_real(v))
		return buf_printf(b, "%g", json_real_value(v));
	if (json_is_boolean(v))
		return buf_puts(b, json_is_true(v) ? "true" : "false");
	{
		char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		bool ok = s != NULL && buf_puts(b, s);
		free(s);
		return ok;
	}
}

/* The cell text, cut at `max` bytes (0: never) with "...". */
static char *cell_text(json_t *v, size_t max)
{
	struct buf b = {0};
	bool ok = true;

	if (json_is_array(v)) {
		size_t i;
		json_t *e;
		bool all_scalar = true;
		json_array_foreach(v, i, e) all_scalar = all_scalar && is_scalar(e);
		if (all_scalar) {
			if (json_array_size(v) == 0)
				ok = buf_puts(&b, "-");
			json_array_foreach(v, i, e) {
				if (i > 0)
					ok = ok && buf_puts(&b, ",");
				ok = ok && append_scalar(&b, e);
			}
		} else {
			ok = append_scalar(&b, v);
		}
	} else {
		ok = append_scalar(&b, v);
	}
	if (!ok || !buf_reserve(&b, 0)) {
		buf_free(&b);
		return NULL;
	}
	/* Control characters would break the alignment (and could mislead a terminal). */
	for (size_t i = 0; i < b.len; i++)
		if ((unsigned char)b.data[i] < 0x20)
			b.data[i] = ' ';
	if (max > 3 && b.len > max) {
		/* Back up to a UTF-8 character boundary so the cut never splits one. */
		size_t cut = max - 3;
		while (cut > 0 && ((unsigned char)b.data[cut] & 0xC0) == 0x80)
			cut--;
		memcpy(b.data + cut, "...", 4);
		b.len = cut + 3;
	}
	return buf_steal(&b);
}

char *cli_cell_text(json_t *v)
{
	return cell_text(v, CLI_CELL_MAX);
}

/* Display width of a UTF-8 string: one column per code point (good enough for names). */
static size_t text_width(const char *s)
{
	size_t w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

int cli_table_print(FILE *f, json_t *items, const struct cli_col *cols)
{
	size_t ncols = 0, nrows = json_array_size(items);
	size_t *width;
	char **cells;
	int ret = -1;

	while (cols[ncols].header != NULL)
		ncols++;
	width = calloc(ncols, sizeof *width);
	cells = calloc(ncols * (nrows ? nrows : 1), sizeof *cells);
	if (width == NULL || cells == NULL)
		goto oom;
	for (size_t c = 0; c < ncols; c++)
		width[c] = text_width(cols[c].header);
	for (size_t r = 0; r < nrows; r++) {
		json_t *it = json_array_get(items, r);
		for (size_t c = 0; c < ncols; c++) {
			char *s = cli_cell_text(cli_json_path(it, cols[c].field));
			if (s == NULL)
				goto oom;
			cells[r * ncols + c] = s;
			if (text_width(s) > width[c])
				width[c] = text_width(s);
		}
	}
	for (size_t c = 0; c < ncols; c++)
		fprintf(f, "%s%-*s", c ? "  " : "", c + 1 < ncols ? (int)width[c] : 0, cols[c].header);
	fputc('\n', f);
	for (size_t r = 0; r < nrows; r++) {
		for (size_t c = 0; c < ncols; c++) {
			const char *s = cells[r * ncols + c];
			fprintf(f, "%s%s", c ? "  " : "", s);
			/* Pad by display width, not bytes, and never after the last column. */
			if (c + 1 < ncols)
				for (size_t w = text_width(s); w < width[c]; w++)
					fputc(' ', f);
		}
		fputc('\n', f);
	}
	ret = 0;
	goto done;
oom:
	fprintf(stderr, "edgectl: out of memory\n");
done:
	if (cells != NULL)
		for (size_t i = 0; i < ncols * nrows; i++)
			free(cells[i]);
	free(cells);
	free(width);
	return ret;
}

/* A table header as a label: "LAST HEARTBEAT" -> "Last heartbeat"; "ID" and mixed-case
 * labels stay as they are. */
static void label_of(const char *header, char *out, size_t cap)
{
	bool upper = strlen(header) > 2;

	for (const char *p = header; *p != '\0'; p++)
		if (*p >= 'a' && *p <= 'z')
			upper = false;
	snprintf(out, cap, "%s", header);
	if (upper)
		for (size_t i = 1; out[i] != '\0'; i++)
			if (out[i] >= 'A' && out[i] <= 'Z')
				out[i] = (char)(out[i] - 'A' + 'a');
}

int cli_kv_print(FILE *f, json_t *obj, const struct cli_col *cols)
{
	size_t w = 0;
	char label[64];

	for (size_t c = 0; cols[c].header != NULL; c++)
		if (strlen(cols[c].header) > w)
			w = strlen(cols[c].header);
	for (size_t c = 0; cols[c].header != NULL; c++) {
		/* One value per line: shown whole (signatures, digests). */
		char *s = cell_text(cli_json_path(obj, cols[c].field), 0);
		if (s == NULL) {
			fprintf(stderr, "edgectl: out of memory\n");
			return -1;
		}
		label_of(cols[c].header, label, sizeof label);
		fprintf(f, "%s:%*s %s\n", label, (int)(w - strlen(label)), "", s);
		free(s);
	}
	return 0;
}

void cli_json_print(FILE *f, json_t *v)
{
	if (json_dumpf(v, f, JSON_INDENT(2) | JSON_ENCODE_ANY) == 0)
		fputc('\n', f);
}
