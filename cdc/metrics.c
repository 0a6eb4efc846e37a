/* metrics: the names, help texts and buckets of tvsync-cdc's metrics, in the
 * base units DESIGN.md asks for (_seconds, _bytes, _total). */
#include "config.h"

#include "cdc/metrics.h"

#include <stdio.h>
#include <stdlib.h>

void cdc_metrics_init(cdc_metrics *metrics)
{
    static const double duration_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    prom_registry *r = prom_registry_new();
    metrics->registry = r;
    metrics->lag_bytes = prom_gauge(r, "tvsync_cdc_lag_bytes",
        "WAL between the server's current position and the slot's confirmed_flush_lsn", NULL);
    metrics->retained_wal_bytes = prom_gauge(r, "tvsync_cdc_retained_wal_bytes",
        "WAL the slot makes the server keep (current position minus restart_lsn)", NULL);
    metrics->wal_status = prom_gauge(r, "tvsync_cdc_slot_wal_status",
        "1 for the slot's current wal_status (reserved, extended, unreserved, lost)", "status");
    metrics->safe_wal_size_bytes = prom_gauge(r, "tvsync_cdc_slot_safe_wal_size_bytes",
        "WAL that can still be written before the slot is in danger (-1: unlimited)", NULL);
    metrics->lag_seconds = prom_gauge(r, "tvsync_cdc_lag_seconds",
        "Age of the oldest committed, unapplied source transaction; the heartbeat round trip when idle", NULL);
    metrics->heartbeat_round_trip_seconds = prom_gauge(r, "tvsync_cdc_heartbeat_round_trip_seconds",
        "Time from emitting the last heartbeat message to reading it back from the slot", NULL);
    metrics->batches_total = prom_counter(r, "tvsync_cdc_batches_total",
        "Local apply transactions committed", NULL);
    metrics->intents_total = prom_counter(r, "tvsync_cdc_intents_total",
        "Intents applied, by entity", "entity");
    metrics->rows_upserted_total = prom_counter(r, "tvsync_cdc_rows_upserted_total",
        "tv_* rows inserted or updated, by entity", "entity");
    metrics->rows_deleted_total = prom_counter(r, "tvsync_cdc_rows_deleted_total",
        "tv_* rows deleted, by entity", "entity");
    metrics->failures_total = prom_counter(r, "tvsync_cdc_apply_failures_total",
        "Failed apply attempts (retried or bisected), by entity", "entity");
    metrics->dead_letters_total = prom_counter(r, "tvsync_cdc_dead_letters_total",
        "Intents written to tvsync.dead_letter", NULL);
    metrics->visibility_waits_total = prom_counter(r, "tvsync_cdc_visibility_waits_total",
        "Apply transactions begun again after waiting for source transactions their snapshot did not see yet",
        NULL);
    metrics->apply_duration_seconds = prom_histogram(r, "tvsync_cdc_apply_duration_seconds",
        "Duration of one apply transaction", NULL, duration_buckets,
        sizeof duration_buckets / sizeof duration_buckets[0]);
    metrics->reconnects_total = prom_counter(r, "tvsync_cdc_reconnects_total",
        "Reconnections after a lost connection or a server restart", NULL);
    metrics->last_applied_lsn = prom_gauge(r, "tvsync_cdc_last_applied_lsn",
        "End LSN of the last applied source transaction (as a number)", NULL);
    metrics->streaming = prom_gauge(r, "tvsync_cdc_streaming",
        "1 while the replication stream is up", NULL);
    metrics->rebuild_chunks_total = prom_counter(r, "tvsync_cdc_rebuild_chunks_total",
        "Full-rebuild chunks applied, by entity", "entity");
    metrics->heartbeats_ignored_total = prom_counter(r, "tvsync_cdc_heartbeats_ignored_total",
        "Heartbeat messages read from the slot without this process's nonce (forged, or sent before a restart)",
        NULL);
    metrics->failover_held_bytes = prom_gauge(r, "tvsync_cdc_failover_held_bytes",
        "On a failover slot, WAL tvsync-cdc has done with but does not confirm yet, as the standbys in "
        "synchronized_standby_slots lack its apply commits (0 otherwise)", NULL);
}

void cdc_metrics_free(cdc_metrics *metrics)
{
    prom_registry_free(metrics->registry);
    metrics->registry = NULL;
}
