/* cli/table.h: edgectl's human-readable output: aligned tables of JSON fields, key/value
 * listings, and the --json printer. */
#ifndef CLI_TABLE_H
#define CLI_TABLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

/* A column: the header text and the field it shows. `field` is a dotted path into each item
 * ("agent.version"); a field that is an array of scalars is shown comma-joined. */
struct cli_col {
	const char *header;
	const char *field;
};

/* Prints `items` (an array of objects, borrowed) as a table with the columns `cols`
 * (terminated by a zero entry) to `f`. A missing or null field shows "-". Returns 0, or -1 when
 * memory runs out (message printed). */
int cli_table_print(FILE *f, json_t *items, const struct cli_col *cols);

/* Prints selected fields of one object as "Label:  value" lines. */
int cli_kv_print(FILE *f, json_t *obj, const struct cli_col *cols);

/* Prints `v` (borrowed) indented, for --json. */
void cli_json_print(FILE *f, json_t *v);

/* The text shown for a JSON value in a table cell: strings as is, numbers in decimal, null "-",
 * arrays of scalars comma-joined, other values as compact JSON; control characters become
 * spaces and text longer than 72 bytes is cut with "...". Returns a malloc'ed string
 * (caller frees) or NULL when memory runs out. */
char *cli_cell_text(json_t *v);

/* Looks up a dotted path ("a.b.c") in an object; NULL when any step is missing. Borrowed. */
json_t *cli_json_path(json_t *obj, const char *path);

#endif
