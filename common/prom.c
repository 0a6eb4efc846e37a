/* prom: a small Prometheus registry. Metrics keep their series in first-use
 * order; one mutex per registry guards updates and rendering. */
#include <config.h>

#include "common/prom.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/strbuf.h"

typedef enum { PROM_COUNTER, PROM_GAUGE, PROM_HISTOGRAM } prom_kind;

typedef struct prom_series {
    struct prom_series *next;
    char **label_values;
    double value;            /* counter/gauge; histogram: sum */
    uint64_t count;          /* histogram */
    uint64_t *bucket_counts; /* histogram: per bucket, not cumulative */
} prom_series;

struct prom_metric {
    struct prom_metric *next;
    prom_registry *registry;
    prom_kind kind;
    char *name, *help;
    size_t label_count;
    char **label_names;
    double *buckets;
    size_t bucket_count;
    prom_series *series, *series_tail;
};

struct prom_registry {
    pthread_mutex_t mutex;
    prom_metric *metrics, *metrics_tail;
};

prom_registry *prom_registry_new(void)
{
    prom_registry *registry = alloc_calloc(1, sizeof *registry);
    pthread_mutex_init(&registry->mutex, NULL);
    return registry;
}

static void series_free(prom_series *series, size_t label_count)
{
    for (size_t i = 0; i < label_count; i++)
        free(series->label_values[i]);
    free(series->label_values);
    free(series->bucket_counts);
    free(series);
}

void prom_registry_free(prom_registry *registry)
{
    if (!registry)
        return;
    prom_metric *metric = registry->metrics;
    while (metric) {
        prom_metric *next_metric = metric->next;
        prom_series *series = metric->series;
        while (series) {
            prom_series *next = series->next;
            series_free(series, metric->label_count);
            series = next;
        }
        for (size_t i = 0; i < metric->label_count; i++)
            free(metric->label_names[i]);
        free(metric->label_names);
        free(metric->buckets);
        free(metric->name);
        free(metric->help);
        free(metric);
        metric = next_metric;
    }
    pthread_mutex_destroy(&registry->mutex);
    free(registry);
}

static prom_metric *metric_declare(prom_registry *registry, prom_kind kind, const char *name,
                                   const char *help, const char *label_names)
{
    pthread_mutex_lock(&registry->mutex);
    for (prom_metric *m = registry->metrics; m; m = m->next) {
        if (strcmp(m->name, name) == 0) {
            pthread_mutex_unlock(&registry->mutex);
            return m;
        }
    }
    prom_metric *metric = alloc_calloc(1, sizeof *metric);
    metric->registry = registry;
    metric->kind = kind;
    metric->name = alloc_strdup(name);
    metric->help = alloc_strdup(help ? help : "");
    if (label_names && *label_names) {
        char *list = alloc_strdup(label_names);
        size_t count = 1;
        for (const char *p = list; *p; p++)
            count += *p == ',';
        metric->label_names = alloc_calloc(count, sizeof *metric->label_names);
        char *save = NULL;
        for (char *token = strtok_r(list, ",", &save); token; token = strtok_r(NULL, ",", &save))
            metric->label_names[metric->label_count++] = alloc_strdup(token);
        free(list);
    }
    if (registry->metrics_tail)
        registry->metrics_tail->next = metric;
    else
        registry->metrics = metric;
    registry->metrics_tail = metric;
    pthread_mutex_unlock(&registry->mutex);
    return metric;
}

prom_metric *prom_counter(prom_registry *registry, const char *name, const char *help,
                          const char *label_names)
{
    return metric_declare(registry, PROM_COUNTER, name, help, label_names);
}

prom_metric *prom_gauge(prom_registry *registry, const char *name, const char *help,
                        const char *label_names)
{
    return metric_declare(registry, PROM_GAUGE, name, help, label_names);
}

prom_metric *prom_histogram(prom_registry *registry, const char *name, const char *help,
                            const char *label_names, const double *buckets, size_t bucket_count)
{
    prom_metric *metric = metric_declare(registry, PROM_HISTOGRAM, name, help, label_names);
    pthread_mutex_lock(&registry->mutex);
    if (!metric->buckets) {
        metric->buckets = alloc_calloc(bucket_count, sizeof *metric->buckets);
        memcpy(metric->buckets, buckets, bucket_count * sizeof *buckets);
        metric->bucket_count = bucket_count;
    }
    pthread_mutex_unlock(&registry->mutex);
    return metric;
}

/* Finds or creates the series for label_values. Called with the mutex held. */
static prom_series *series_get(prom_metric *metric, const char *const *label_values)
{
    for (prom_series *s = metric->series; s; s = s->next) {
        size_t i = 0;
        while (i < metric->label_count && strcmp(s->label_values[i], label_values[i] ? label_values[i] : "") == 0)
            i++;
        if (i == metric->label_count)
            return s;
    }
    prom_series *series = alloc_calloc(1, sizeof *series);
    series->label_values = alloc_calloc(metric->label_count, sizeof *series->label_values);
    for (size_t i = 0; i < metric->label_count; i++)
        series->label_values[i] = alloc_strdup(label_values && label_values[i] ? label_values[i] : "");
    if (metric->kind == PROM_HISTOGRAM)
        series->bucket_counts = alloc_calloc(metric->bucket_count, sizeof *series->bucket_counts);
    if (metric->series_tail)
        metric->series_tail->next = series;
    else
        metric->series = series;
    metric->series_tail = series;
    return series;
}

void prom_counter_add(prom_metric *metric, const char *const *label_values, double amount)
{
    if (!metric || amount < 0)
        return; /* counters only go up */
    pthread_mutex_lock(&metric->registry->mutex);
    series_get(metric, label_values)->value += amount;
    pthread_mutex_unlock(&metric->registry->mutex);
}

void prom_gauge_set(prom_metric *metric, const char *const *label_values, double value)
{
    if (!metric)
        return;
    pthread_mutex_lock(&metric->registry->mutex);
    series_get(metric, label_values)->value = value;
    pthread_mutex_unlock(&metric->registry->mutex);
}

void prom_gauge_add(prom_metric *metric, const char *const *label_values, double amount)
{
    if (!metric)
        return;
    pthread_mutex_lock(&metric->registry->mutex);
    series_get(metric, label_values)->value += amount;
    pthread_mutex_unlock(&metric->registry->mutex);
}

void prom_histogram_observe(prom_metric *metric, const char *const *label_values, double value)
{
    if (!metric)
        return;
    pthread_mutex_lock(&metric->registry->mutex);
    prom_series *series = series_get(metric, label_values);
    for (size_t i = 0; i < metric->bucket_count; i++) {
        if (value <= metric->buckets[i]) {
            series->bucket_counts[i]++;
            break;
        }
    }
    series->count++;
    series->value += value;
    pthread_mutex_unlock(&metric->registry->mutex);
}

/* Label values escape backslash, double quote and newline; HELP escapes
 * backslash and newline (exposition format 0.0.4). */
static void append_escaped(strbuf *b, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            strbuf_append(b, "\\\\");
        else if (*s == '\n')
            strbuf_append(b, "\\n");
        else if (quote && *s == '"')
            strbuf_append(b, "\\\"");
        else
            strbuf_append_char(b, *s);
    }
}

static void append_number(strbuf *b, double value)
{
    if (isnan(value))
        strbuf_appendf(b, "NaN");
    else if (isinf(value))
        strbuf_appendf(b, value > 0 ? "+Inf" : "-Inf");
    else if (value == (double) (long long) value && fabs(value) < 1e15)
        strbuf_appendf(b, "%lld", (long long) value);
    else
        strbuf_appendf(b, "%.17g", value);
}

/* Writes {a="x",b="y"[,le="..."]}; nothing when there are no labels. */
static void append_labels(strbuf *b, const prom_metric *metric, const prom_series *series,
                          const char *le)
{
    if (metric->label_count == 0 && !le)
        return;
    strbuf_appendf(b, "{");
    for (size_t i = 0; i < metric->label_count; i++) {
        strbuf_appendf(b, "%s%s=\"", i ? "," : "", metric->label_names[i]);
        append_escaped(b, series->label_values[i], true);
        strbuf_appendf(b, "\"");
    }
    if (le)
        strbuf_appendf(b, "%sle=\"%s\"", metric->label_count ? "," : "", le);
    strbuf_appendf(b, "}");
}

char *prom_render(prom_registry *registry, size_t *length)
{
    static const char *const kind_names[] = {"counter", "gauge", "histogram"};
    strbuf b = STRBUF_INIT;
    strbuf_reserve(&b, 4096);
    pthread_mutex_lock(&registry->mutex);
    for (const prom_metric *m = registry->metrics; m; m = m->next) {
        strbuf_appendf(&b, "# HELP %s ", m->name);
        append_escaped(&b, m->help, false);
        strbuf_appendf(&b, "\n# TYPE %s %s\n", m->name, kind_names[m->kind]);
        for (const prom_series *s = m->series; s; s = s->next) {
            if (m->kind != PROM_HISTOGRAM) {
                strbuf_appendf(&b, "%s", m->name);
                append_labels(&b, m, s, NULL);
                strbuf_appendf(&b, " ");
                append_number(&b, s->value);
                strbuf_appendf(&b, "\n");
                continue;
            }
            uint64_t cumulative = 0;
            for (size_t i = 0; i < m->bucket_count; i++) {
                char le[64];
                cumulative += s->bucket_counts[i];
                snprintf(le, sizeof le, "%g", m->buckets[i]);
                strbuf_appendf(&b, "%s_bucket", m->name);
                append_labels(&b, m, s, le);
                strbuf_appendf(&b, " %llu\n", (unsigned long long) cumulative);
            }
            strbuf_appendf(&b, "%s_bucket", m->name);
            append_labels(&b, m, s, "+Inf");
            strbuf_appendf(&b, " %llu\n%s_sum", (unsigned long long) s->count, m->name);
            append_labels(&b, m, s, NULL);
            strbuf_appendf(&b, " ");
            append_number(&b, s->value);
            strbuf_appendf(&b, "\n%s_count", m->name);
            append_labels(&b, m, s, NULL);
            strbuf_appendf(&b, " %llu\n", (unsigned long long) s->count);
        }
    }
    pthread_mutex_unlock(&registry->mutex);
    if (length)
        *length = b.length;
    return b.data;
}
