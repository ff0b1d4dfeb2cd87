
/*
 * hubgated: the sync engine's life (see engine.h).
 */

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "invoicing.h"
#include "pipeline.h"
#include "queue.h"
#include "sync_conf.h"
#include "../clock.h"
#include "../net/http.h"
#include "../store/redis.h"


static int  engine_started;


int
engine_apply(const hubgate_config_t *cfg, char *err, size_t errlen)
{
    if (sync_conf_set(cfg, err, errlen) != 0) {
        return -1;
    }

    http_configure(cfg->http_timeout);
    redis_configure(cfg->redis_address);

    if (engine_started) {
        queue_reconfigure(cfg->job_lease, cfg->scheduler_interval);
    }

    return 0;
}


int
engine_start(const hubgate_config_t *cfg, char *err, size_t errlen)
{
    char          host[128], instance[192];
    queue_conf_t  qc;

    clock_enable_test(cfg->test_clock);

    if (http_global_init(err, errlen) != 0
        || engine_apply(cfg, err, errlen) != 0
        || queue_register("sync", pipeline_sync_job) != 0
        || queue_register("webhook.process", pipeline_webhook_job) != 0
        || queue_register_tick(invoicing_tick) != 0)
    {
        if (err[0] == '\0') {
            snprintf(err, errlen, "cannot register the job handlers");
        }
        return -1;
    }

    if (gethostname(host, sizeof(host)) != 0) {
        snprintf(host, sizeof(host), "hubgated");
    }
    host[sizeof(host) - 1] = '\0';

    snprintf(instance, sizeof(instance), "%s:%ld", host, (long) getpid());

    memset(&qc, 0, sizeof(qc));
    qc.conninfo = cfg->database_url;
    qc.workers = cfg->worker_threads;
    qc.lease_ms = cfg->job_lease;
    qc.scheduler_ms = cfg->scheduler_interval;
    qc.instance = instance;

    if (queue_start(&qc, err, errlen) != 0) {
        return -1;
    }

    engine_started = 1;
    return 0;
}


void
engine_stop(int64_t timeout_ms)
{
    if (engine_started) {
        queue_stop(timeout_ms);
        engine_started = 0;
    }
}
