/* intent: the content of a tvsync logical message, parsed with cJSON:
 * {"entity":"post","ids":["<uuid>",...]}, {"entity":"post","rebuild":true} or
 * {"heartbeat":"<ISO 8601 time>"}; and the uuid type ids are kept in. Pure. */
#ifndef TVSYNC_CDC_INTENT_H
#define TVSYNC_CDC_INTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct intent_uuid {
    unsigned char bytes[16];
} intent_uuid;

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" plus the NUL. */
#define INTENT_UUID_TEXT_SIZE 37
/* Entity names are identifiers; longer ones are rejected. */
#define INTENT_ENTITY_MAX 63

typedef enum intent_kind {
    INTENT_IDS,        /* rebuild these ids of entity */
    INTENT_REBUILD,    /* rebuild the whole entity */
    INTENT_HEARTBEAT,  /* tvsync-cdc's own heartbeat */
} intent_kind;

typedef struct intent {
    intent_kind kind;
    char entity[INTENT_ENTITY_MAX + 1];   /* INTENT_IDS, INTENT_REBUILD */
    size_t id_count;
    intent_uuid *ids;                     /* INTENT_IDS: owned by the intent */
    int64_t heartbeat_unix_us;            /* INTENT_HEARTBEAT: the time it was sent */
} intent;

/* Parses content (length bytes, need not be NUL-terminated). On success fills
 * *out (free with intent_free). On failure returns false with a short reason
 * for tvsync.dead_letter in reason[] (not JSON, no entity, an id that is not a
 * uuid, ...) and leaves nothing to free. Whether the entity exists is the
 * caller's question (the registry's). */
bool intent_parse(const char *content, size_t length, intent *out, char *reason, size_t reason_size);

void intent_free(intent *value);

/* Parses the canonical 8-4-4-4-12 hex form (either case); false otherwise. */
bool intent_uuid_parse(const char *text, intent_uuid *out);
/* Writes the lower-case canonical form into buffer; returns buffer. */
char *intent_uuid_format(const intent_uuid *uuid, char buffer[INTENT_UUID_TEXT_SIZE]);

#endif
