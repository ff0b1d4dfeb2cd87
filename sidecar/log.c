
/*
 * hubgated: logging (see log.h).
 */

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <jansson.h>

#include "log.h"


#define LOG_FIELDS_MAX  32


static atomic_int  log_format;          /* 0 json, 1 text */
static atomic_int  log_level = LOG_INFO;

static __thread char  log_request_id[80];
static __thread char  log_tenant[80];

static const char *const  log_levels[] = { "debug", "info", "warn", "error" };


static void log_text_value(FILE *f, const char *v);
static void log_write(int level, const char *event, const char **kv, size_t n);


void
log_configure(int format, int level)
{
    atomic_store(&log_format, format);
    atomic_store(&log_level, level);
}


int
log_enabled(int level)
{
    return level >= atomic_load(&log_level);
}


void
log_context_set(const char *request_id, const char *tenant)
{
    snprintf(log_request_id, sizeof(log_request_id), "%s",
             request_id ? request_id : "");
    snprintf(log_tenant, sizeof(log_tenant), "%s", tenant ? tenant : "");
}


void
log_event(int level, const char *event, ...)
{
    va_list      ap;
    size_t       n;
    const char  *kv[LOG_FIELDS_MAX * 2];

    if (!log_enabled(level)) {
        return;
    }

    va_start(ap, event);

    for (n = 0; n < LOG_FIELDS_MAX * 2; n += 2) {
        kv[n] = va_arg(ap, const char *);
        if (kv[n] == NULL) {
            break;
        }
        kv[n + 1] = va_arg(ap, const char *);
    }

    va_end(ap);

    log_write(level, event, kv, n);
}


void
log_msg(int level, const char *event, const char *fmt, ...)
{
    va_list      ap;
    char         msg[2048];
    const char  *kv[2];

    if (!log_enabled(level)) {
        return;
    }

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    kv[0] = "msg";
    kv[1] = msg;

    log_write(level, event, kv, 2);
}


static void
log_write(int level, const char *event, const char **kv, size_t n)
{
    char            ts[40];
    char           *line;
    size_t          i, len;
    FILE           *f;
    json_t         *o;
    struct tm       tm;
    struct timeval  tv;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    len = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + len, sizeof(ts) - len, ".%03ldZ", (long) tv.tv_usec / 1000);

    if (atomic_load(&log_format) == 0) {
        o = json_object();
        if (o == NULL) {
            return;
        }

        json_object_set_new(o, "ts", json_string(ts));
        json_object_set_new(o, "level", json_string(log_levels[level & 3]));
        json_object_set_new(o, "event", json_string(event));

        if (log_request_id[0]) {
            json_object_set_new(o, "request_id",
                                json_string(log_request_id));
        }

        if (log_tenant[0]) {
            json_object_set_new(o, "tenant", json_string(log_tenant));
        }

        for (i = 0; i < n; i += 2) {
            if (kv[i + 1] != NULL) {
                /* invalid UTF-8 must not lose the line: keep it as bytes */
                json_object_set_new(o, kv[i],
                                    json_stringn_nocheck(kv[i + 1],
                                                         strlen(kv[i + 1])));
            }
        }

        line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);

        if (line == NULL) {
            return;
        }

        fprintf(stderr, "%s\n", line);
        free(line);
        return;
    }

    /* text: one line written under the stream lock */
    f = stderr;
    flockfile(f);
    fprintf(f, "%s %s %s", ts, log_levels[level & 3], event);

    if (log_request_id[0]) {
        fputs(" request_id=", f);
        log_text_value(f, log_request_id);
    }

    if (log_tenant[0]) {
        fputs(" tenant=", f);
        log_text_value(f, log_tenant);
    }

    for (i = 0; i < n; i += 2) {
        if (kv[i + 1] != NULL) {
            fprintf(f, " %s=", kv[i]);
            log_text_value(f, kv[i + 1]);
        }
    }

    fputc('\n', f);
    funlockfile(f);
}


/* bare when safe, else double-quoted with \" \\ and \xNN for controls */
static void
log_text_value(FILE *f, const char *v)
{
    const unsigned char  *p;

    if (*v && strpbrk(v, " \"\\=") == NULL) {
        for (p = (const unsigned char *) v; *p >= 0x20 && *p != 0x7f; p++) {
            /* void */
        }

        if (*p == '\0') {
            fputs(v, f);
            return;
        }
    }

    fputc('"', f);

    for (p = (const unsigned char *) v; *p; p++) {
        if (*p == '"' || *p == '\\') {
            fputc('\\', f);
            fputc(*p, f);

        } else if (*p < 0x20 || *p == 0x7f) {
            fprintf(f, "\\x%02x", *p);

        } else {
            fputc(*p, f);
        }
    }

    fputc('"', f);
}
