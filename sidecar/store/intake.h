
/*
 * hubgated: group commit of webhook intake.
 *
 * Each request thread hands its verified event to intake_record() and
 * waits.  While a group is being committed the events that arrive queue
 * up; the next thread free to lead takes every queued event (up to
 * INTAKE_GROUP_MAX) and stores them with one call of webhook_intake()
 * (sql/008) in autocommit, one round trip and one commit for the group.
 * At low load a group is one event and nothing waits; under load the
 * groups grow by themselves, which is what keeps PostgreSQL's per-commit
 * cost from bounding the rate.
 *
 * An event is answered only after the commit of its group, so an event
 * answered 2xx is durable.  A group whose connection was lost is retried
 * on another (the call is idempotent: a redelivery finds its row); a
 * group that fails otherwise is retried event by event, so one bad event
 * fails only itself.  Groups are sorted by (provider, integration, event
 * id): two groups committing at once lock the unique keys in one order.
 */

#ifndef INTAKE_H
#define INTAKE_H

#include <pthread.h>
#include <stddef.h>

#include "db.h"


#define INTAKE_GROUP_MAX    64
#define INTAKE_GROUP_BYTES  (8 * 1024 * 1024)   /* bodies in one group */


typedef enum {
    INTAKE_STORED = 0,          /* new: row and job committed */
    INTAKE_DUPLICATE,           /* the row was there: nothing added */
    INTAKE_NOT_FOUND,           /* no integration of that provider */
    INTAKE_FAILED,              /* a database error: nothing committed */
    INTAKE_UNAVAILABLE          /* no connection: nothing committed */
} intake_status_e;


typedef struct intake_event_s  intake_event_t;

struct intake_event_s {
    /* in, borrowed until intake_record returns */
    const char         *provider;
    const char         *integration;     /* uuid text */
    const char         *event_id;
    const char         *event_type;      /* or NULL */
    const char         *body;
    size_t              body_len;

    /* out */
    intake_status_e     status;
    char                id[DB_UUID_LEN + 1];      /* webhook_events.id */
    char                tenant[DB_UUID_LEN + 1];
    char                err[512];                 /* FAILED, UNAVAILABLE */

    /* the queue's */
    intake_event_t     *next;
    int                 done;
    pthread_cond_t      cond;           /* done, or lead the next group */
};


/*
 * Stores ev (see above) and returns when its group has committed or
 * failed; ev->status says which.  Thread-safe; blocks the calling thread.
 */
void intake_record(intake_event_t *ev);


#endif /* INTAKE_H */
