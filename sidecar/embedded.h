
/*
 * hubgated: files built into the binary (tools/embed.pl writes
 * build/gen/embedded.c): the SQL migrations and the OpenAPI document, so
 * that the daemon and `hubgated migrate` carry the schema they expect.
 */

#ifndef EMBEDDED_H
#define EMBEDDED_H

#include <stddef.h>


typedef struct {
    const char           *name;     /* "sql/001_core.sql" */
    const unsigned char  *data;     /* NUL-terminated */
    size_t                len;
} embedded_file_t;


/* every embedded file, in name order */
const embedded_file_t *embedded_files(size_t *n);

/* the file called name, or NULL */
const embedded_file_t *embedded_find(const char *name);


#endif /* EMBEDDED_H */
