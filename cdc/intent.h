/* intent: the content of a tvsync logical message, parsed with cJSON:
 * {"entity":"post","ids":["<id>",...]}, {"entity":"post","rebuild":true} or
 * {"heartbeat":"<ISO 8601 time>","nonce":"<text>"}; ids are opaque text in the
 * key's form. Pure. */
#ifndef TVSYNC_CDC_INTENT_H
#define TVSYNC_CDC_INTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An id: length bytes at offset of a text its holder owns (a NUL follows them
 * there). Ids are the key's text form (a uuid, a bigint's digits, any text):
 * tvsync-cdc compares them as bytes and the database casts them to the key type. */
typedef struct intent_id {
    uint32_t offset;
    uint32_t length;
} intent_id;

/* Entity names are identifiers; longer ones are rejected. */
#define INTENT_ENTITY_MAX 63

/* A heartbeat's nonce: tvsync-cdc's own are 32 hex digits; longer ones are rejected. */
#define INTENT_NONCE_MAX 64

typedef enum intent_kind {
    INTENT_IDS,        /* rebuild these ids of entity */
    INTENT_REBUILD,    /* rebuild the whole entity */
    INTENT_HEARTBEAT,  /* tvsync-cdc's own heartbeat */
} intent_kind;

typedef struct intent {
    intent_kind kind;
    char entity[INTENT_ENTITY_MAX + 1];   /* INTENT_IDS, INTENT_REBUILD */
    size_t id_count;
    intent_id *ids;                       /* INTENT_IDS: owned by the intent ... */
    char *id_text;                        /* ... and the ids' text they point into, owned */
    int64_t heartbeat_unix_us;            /* INTENT_HEARTBEAT: the time it was sent, */
    char heartbeat_nonce[INTENT_NONCE_MAX + 1];   /* and its nonce ("" when it had none) */
} intent;

/* Parses content (length bytes, need not be NUL-terminated). On success fills
 * *out (free with intent_free). On failure returns false with a short reason
 * for tvsync.dead_letter in reason[] (not JSON, text after the object, no
 * entity, an id that is not a JSON string, ...) and leaves nothing to free.
 * Whether the entity exists, whether an id is of its key type, and whether a
 * heartbeat's nonce is the daemon's are the caller's and the database's. */
bool intent_parse(const char *content, size_t length, intent *out, char *reason, size_t reason_size);

void intent_free(intent *value);

/* What tvsync-cdc knows of a key type's text form: enough to turn away an id
 * that no value of the type can have ("x" for a bigint) before it reaches a
 * statement, where it would fail the whole batch (and stop the cascades of
 * the ids beside it). The database still decides: an id that fits here but
 * not the type fails its batch like a build error. */
typedef enum intent_key {
    INTENT_KEY_TEXT,        /* text, or a type not known here: every id fits */
    INTENT_KEY_UUID,        /* what uuid_in reads: 32 hex digits, '-' after any 4, braces */
    INTENT_KEY_BIGINT,      /* blanks, a sign, a digit, then digits (in range), or letters and '_' */
    INTENT_KEY_INTEGER,     /* (0x1F, 1_000: newer servers' forms, which the database judges) */
    INTENT_KEY_SMALLINT,
} intent_key;

/* The intent_key of a key type's name (regtype text: "uuid", "bigint", ...). */
intent_key intent_key_of(const char *key_type);

/* Whether length bytes of id can be a value of key. */
bool intent_id_fits(intent_key key, const char *id, size_t length);

/* Rewrites an id that fits key (length bytes at id, then a NUL) into the key
 * type's output form, as the database prints it, when that is no longer (a
 * uuid in lower case with its four hyphens; a decimal number without blanks,
 * '+' or leading zeros), and sets *length; other ids stay as they are. So an
 * id published by hand as "0007" or in upper case is the same id as the one
 * tvsync.publish or a cascade gives: one pair of the batch, not two. */
void intent_id_normalize(intent_key key, char *id, uint32_t *length);

/* The content of an intent for ids of entity, as JSON ({"entity":...,"ids":[...]}):
 * what a dead letter of ids holds. The caller frees it; never NULL. */
char *intent_ids_json(const char *entity, const char *const *ids, size_t count);

#endif
