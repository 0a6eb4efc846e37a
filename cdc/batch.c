/* batch: coalescing sets of (entity, id) with bounded size, and the
 * bookkeeping that makes one local transaction record exactly one prefix of
 * the source stream. */
#include "config.h"

#include "cdc/batch.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"

static void note_free(batch_note *note)
{
    free(note->content);
    free(note->reason);
}

void batch_free(batch *value)
{
    for (size_t i = 0; i < value->entity_count; i++) {
        free(value->entities[i].ids);
        free(value->entities[i].text);
        free(value->entities[i].index);
        free(value->entities[i].error);
    }
    free(value->entities);
    for (size_t i = 0; i < value->note_count; i++)
        note_free(&value->notes[i]);
    free(value->notes);
    free(value->xids);
    free(value->message_ends);
    memset(value, 0, sizeof *value);
}

void batch_add_xid(batch *value, uint32_t xid)
{
    if (xid == 0)
        return;
    if (value->xid_count == value->xid_capacity) {
        value->xid_capacity = value->xid_capacity ? value->xid_capacity * 2 : 64;
        value->xids = alloc_array(value->xids, value->xid_capacity, sizeof *value->xids);
    }
    value->xids[value->xid_count++] = xid;
}

void batch_add_message_end(batch *value, lsn_t end)
{
    if (value->message_end_count == value->message_end_capacity) {
        value->message_end_capacity = value->message_end_capacity ? value->message_end_capacity * 2 : 64;
        value->message_ends = alloc_array(value->message_ends, value->message_end_capacity,
                                          sizeof *value->message_ends);
    }
    value->message_ends[value->message_end_count++] = end;
}

static uint32_t id_hash(const char *id, size_t length)
{
    /* FNV-1a: short keys (a uuid's 36 characters, a number's digits) that differ
     * in a few places, sequential numbers above all. */
    uint32_t hash = 2166136261u;
    for (size_t i = 0; i < length; i++)
        hash = (hash ^ (unsigned char) id[i]) * 16777619u;
    return hash;
}

static batch_entity *entity_get(batch *value, const char *name)
{
    batch_entity *found = batch_find_entity(value, name);
    if (found)
        return found;
    value->entities = alloc_array(value->entities, value->entity_count + 1, sizeof *value->entities);
    found = &value->entities[value->entity_count++];
    memset(found, 0, sizeof *found);
    snprintf(found->name, sizeof found->name, "%s", name);
    return found;
}

batch_entity *batch_find_entity(batch *value, const char *entity)
{
    for (size_t i = 0; i < value->entity_count; i++)
        if (strcmp(value->entities[i].name, entity) == 0)
            return &value->entities[i];
    return NULL;
}

static void index_rebuild(batch_entity *entity, size_t capacity)
{
    free(entity->index);
    entity->index = alloc_calloc(capacity, sizeof *entity->index);
    entity->index_capacity = capacity;
    for (size_t i = 0; i < entity->id_count; i++) {
        size_t slot = entity->ids[i].hash & (capacity - 1);
        while (entity->index[slot])
            slot = (slot + 1) & (capacity - 1);
        entity->index[slot] = (uint32_t) (i + 1);
    }
}

/* Returns the slot where the id (of that hash) is or would go. */
static size_t index_lookup(const batch_entity *entity, const char *id, size_t length, uint32_t hash, bool *present)
{
    size_t mask = entity->index_capacity - 1;
    size_t slot = hash & mask;
    while (entity->index[slot]) {
        const batch_id *candidate = &entity->ids[entity->index[slot] - 1];
        if (candidate->hash == hash && candidate->length == length &&
            memcmp(entity->text + candidate->offset, id, length) == 0) {
            *present = true;
            return slot;
        }
        slot = (slot + 1) & mask;
    }
    *present = false;
    return slot;
}

size_t batch_entity_position(const batch_entity *entity, const char *id, size_t length)
{
    if (!entity->index || entity->index_capacity == 0)
        return SIZE_MAX;
    bool present;
    size_t slot = index_lookup(entity, id, length, id_hash(id, length), &present);
    return present ? entity->index[slot] - 1 : SIZE_MAX;
}

/* Adds one id; returns false (and adds nothing) when it is new and the batch is at limit. */
static bool entity_add(batch *value, batch_entity *entity, const char *id, size_t length, size_t limit)
{
    if (entity->index_capacity < 2 * (entity->id_count + 1))
        index_rebuild(entity, entity->index_capacity ? entity->index_capacity * 2 : 64);
    bool present;
    uint32_t hash = id_hash(id, length);
    size_t slot = index_lookup(entity, id, length, hash, &present);
    if (present)
        return true;
    if (value->id_count >= limit)
        return false;
    if (entity->id_count == entity->id_capacity) {
        entity->id_capacity = entity->id_capacity ? entity->id_capacity * 2 : 64;
        entity->ids = alloc_array(entity->ids, entity->id_capacity, sizeof *entity->ids);
    }
    if (entity->text_length + length + 1 > entity->text_capacity) {
        size_t capacity = entity->text_capacity ? entity->text_capacity : 64 * 40;
        while (capacity < entity->text_length + length + 1)
            capacity *= 2;
        if (capacity > UINT32_MAX)
            alloc_check(NULL);   /* offsets are 32 bits: 4 GB of one entity's ids is out of memory */
        entity->text = alloc_realloc(entity->text, capacity);
        entity->text_capacity = capacity;
    }
    memcpy(entity->text + entity->text_length, id, length);
    entity->text[entity->text_length + length] = '\0';
    entity->ids[entity->id_count++] = (batch_id){(uint32_t) entity->text_length, (uint32_t) length, hash};
    entity->text_length += length + 1;
    entity->index[slot] = (uint32_t) entity->id_count;
    value->id_count++;
    return true;
}

size_t batch_add_ids(batch *value, const char *entity, const char *text, const intent_id *ids, size_t count,
                     size_t max_ids)
{
    batch_entity *target = entity_get(value, entity);
    size_t consumed = 0;
    while (consumed < count &&
           entity_add(value, target, text + ids[consumed].offset, ids[consumed].length, max_ids))
        consumed++;
    target->open_intents += (long) consumed;
    value->open_intents_total += (long) consumed;
    return consumed;
}

void batch_add_cascaded_id(batch *value, const char *entity, const char *id, size_t length)
{
    entity_add(value, entity_get(value, entity), id, length, SIZE_MAX);
}

static batch_note *note_append(batch *value)
{
    if (value->note_count == value->note_capacity) {
        value->note_capacity = value->note_capacity ? value->note_capacity * 2 : 8;
        value->notes = alloc_array(value->notes, value->note_capacity, sizeof *value->notes);
    }
    batch_note *note = &value->notes[value->note_count++];
    memset(note, 0, sizeof *note);
    note->open = true;
    return note;
}

void batch_add_dead_letter(batch *value, lsn_t lsn, const char *content, size_t content_length,
                           const char *reason)
{
    batch_note *note = note_append(value);
    note->kind = BATCH_NOTE_DEAD_LETTER;
    note->lsn = lsn;
    if (content_length > BATCH_DEAD_LETTER_CONTENT_MAX)
        content_length = BATCH_DEAD_LETTER_CONTENT_MAX;
    note->content = alloc_malloc(content_length + 1);
    memcpy(note->content, content, content_length);
    note->content[content_length] = '\0';
    note->reason = alloc_strdup(reason);
}

void batch_add_rebuild(batch *value, lsn_t lsn, const char *entity)
{
    batch_note *note = note_append(value);
    note->kind = BATCH_NOTE_REBUILD;
    note->lsn = lsn;
    snprintf(note->entity, sizeof note->entity, "%s", entity);
    entity_get(value, entity)->open_intents++;
    value->open_intents_total++;
}

void batch_entity_set_error(batch_entity *entity, const char *error)
{
    entity->failed = true;
    if (!entity->error)
        entity->error = alloc_strdup(error);
}

void batch_commit_transaction(batch *value, lsn_t end_lsn, const char *commit_time,
                              int64_t commit_unix_us, bool had_work)
{
    for (size_t i = 0; i < value->entity_count; i++) {
        value->entities[i].intents += value->entities[i].open_intents;
        value->entities[i].open_intents = 0;
    }
    value->open_intents_total = 0;
    for (size_t i = 0; i < value->note_count; i++)
        value->notes[i].open = false;
    if (had_work)
        value->transactions++;
    if (!value->has_progress || value->oldest_commit_unix_us == 0)
        value->oldest_commit_unix_us = commit_unix_us;
    value->has_progress = true;
    value->progress_lsn = end_lsn;
    snprintf(value->progress_time, sizeof value->progress_time, "%s", commit_time ? commit_time : "");
}

static void remove_notes(batch *value, bool open)
{
    size_t kept = 0;
    for (size_t i = 0; i < value->note_count; i++) {
        if (value->notes[i].open == open)
            note_free(&value->notes[i]);
        else
            value->notes[kept++] = value->notes[i];
    }
    value->note_count = kept;
}

void batch_move_open(batch *from, batch *to)
{
    for (size_t i = 0; i < from->entity_count; i++) {
        batch_entity *source = &from->entities[i];
        if (source->open_intents == 0)
            continue;
        batch_entity *target = entity_get(to, source->name);
        target->open_intents += source->open_intents;
        to->open_intents_total += source->open_intents;
        source->open_intents = 0;
    }
    from->open_intents_total = 0;
    size_t kept = 0;
    for (size_t i = 0; i < from->note_count; i++) {
        if (from->notes[i].open) {
            batch_note *moved = note_append(to);
            *moved = from->notes[i];
        } else {
            from->notes[kept++] = from->notes[i];
        }
    }
    from->note_count = kept;
}

bool batch_has_work(const batch *value)
{
    return value->id_count > 0 || value->has_progress || value->note_count > 0;
}

void batch_reset(batch *value)
{
    size_t kept = 0;
    for (size_t i = 0; i < value->entity_count; i++) {
        batch_entity *entity = &value->entities[i];
        free(entity->error);
        entity->error = NULL;
        entity->failed = false;
        entity->upserted = entity->deleted = 0;
        if (entity->open_intents == 0) {
            free(entity->ids);
            free(entity->text);
            free(entity->index);
            continue;
        }
        /* Keep the entry for its open count; its ids went with the applied batch. */
        entity->id_count = 0;
        entity->text_length = 0;
        entity->intents = 0;
        if (entity->index)
            memset(entity->index, 0, entity->index_capacity * sizeof *entity->index);
        value->entities[kept++] = *entity;
    }
    value->entity_count = kept;
    value->id_count = 0;
    remove_notes(value, false);
    value->transactions = 0;
    value->xid_count = 0;
    value->message_end_count = 0;
    value->has_progress = false;
    value->progress_lsn = LSN_INVALID;
    value->progress_time[0] = '\0';
    value->oldest_commit_unix_us = 0;
}
