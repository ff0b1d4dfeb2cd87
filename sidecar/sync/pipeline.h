
/*
 * hubgated: the sync pipeline (DESIGN §4, Sync engine).
 *
 * The handler of `sync` jobs: one sync run of one integration, stream by
 * stream (provider_ops_t.streams, or the targets a webhook named), page
 * by page.  For each page it waits for the provider's limit (shared by
 * every instance through Redis), fetches it with a token from
 * oauth_access_token (a 401 refreshes once and asks again), maps it to
 * canonical records with the provider's parser, and stores the records,
 * the stream's cursor and the run's progress in one transaction
 * (sync_store_page()), then publishes the run on the Redis channel
 * sync_channel() names for Server-Sent Events.  A crash loses at most the
 * page in flight: the next attempt starts from the committed cursor, and
 * a page stored twice changes nothing.
 *
 * Outcomes: 5xx, timeouts and unparsable pages are retried on the queue's
 * schedule; 429 waits as long as Retry-After says (1 min without one)
 * and is not a failure; any other 4xx fails the run.  Every failed
 * attempt counts against the integration (sync_finish()): after
 * PIPELINE_DISABLE_AFTER failures in a row it is disabled (status error).
 *
 * The handler of `webhook.process` jobs turns a stored event into a
 * targeted sync of the records it names (provider_ops_t.webhook_targets).
 */

#ifndef PIPELINE_H
#define PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "queue.h"


#define PIPELINE_DISABLE_AFTER  5
#define PIPELINE_CHANNEL_LEN    (16 + DB_UUID_LEN)


job_result_e pipeline_sync_job(job_t *job, db_conn_t *db);
job_result_e pipeline_webhook_job(job_t *job, db_conn_t *db);

/* "hubgate:sync:<id>": where a run's progress is published */
void sync_channel(const char *sync_id, char out[PIPELINE_CHANNEL_LEN]);

typedef struct {
    uint64_t  pages, records, created, updated, failed, provider_calls;
    uint64_t  rate_waits, retries_429, refreshes_401;
} pipeline_stats_t;

void pipeline_stats(pipeline_stats_t *st);


#endif /* PIPELINE_H */
