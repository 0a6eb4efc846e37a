/* prom: Prometheus metrics (counters, gauges, histograms with labels) kept in
 * a thread-safe registry and rendered in the text exposition format 0.0.4. */
#ifndef TVSYNC_COMMON_PROM_H
#define TVSYNC_COMMON_PROM_H

#include <stddef.h>

typedef struct prom_registry prom_registry;
typedef struct prom_metric prom_metric;

/* The registry owns every metric made from it. Never NULL (common/alloc's policy). */
prom_registry *prom_registry_new(void);
void prom_registry_free(prom_registry *registry);

/* Declares a metric. name must match [a-zA-Z_:][a-zA-Z0-9_:]*; label_names is
 * a comma-separated list ("entity,status") or NULL for none. Declaring the same
 * name twice returns the first declaration. */
prom_metric *prom_counter(prom_registry *registry, const char *name, const char *help,
                          const char *label_names);
prom_metric *prom_gauge(prom_registry *registry, const char *name, const char *help,
                        const char *label_names);
/* buckets: strictly increasing upper bounds (+Inf is added). */
prom_metric *prom_histogram(prom_registry *registry, const char *name, const char *help,
                            const char *label_names, const double *buckets, size_t bucket_count);

/* label_values: one string per label name, in declaration order (NULL when the
 * metric has no labels). Values are escaped on output. Thread-safe. */
void prom_counter_add(prom_metric *metric, const char *const *label_values, double amount);
void prom_gauge_set(prom_metric *metric, const char *const *label_values, double value);
void prom_gauge_add(prom_metric *metric, const char *const *label_values, double amount);
void prom_histogram_observe(prom_metric *metric, const char *const *label_values, double value);

/* Convenience for metrics without labels. */
#define prom_inc(metric) prom_counter_add((metric), NULL, 1.0)
#define prom_set(metric, value) prom_gauge_set((metric), NULL, (value))

/* The whole registry in text format, metrics in declaration order, series in
 * first-use order. Returns a NUL-terminated buffer the caller frees, and its
 * length in *length (if not NULL). Never NULL (common/alloc's policy). */
char *prom_render(prom_registry *registry, size_t *length);

/* The content type to serve prom_render's text with. */
#define PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
