/* gql_date_time: RFC 3339 date-times, the values of the DateTime scalar (which the engine
 * checks so that a filter never compares arbitrary text with stored times). */
#ifndef TVSYNC_GQL_DATE_TIME_H
#define TVSYNC_GQL_DATE_TIME_H

#include <stdbool.h>

#include "server/graphql/graphql.h"

/* Whether text is an RFC 3339 date-time ("2024-05-01T12:00:00Z", "2024-05-01t12:00:00.5+02:00"):
 * real calendar dates (leap years), hours 00-23, seconds up to 60 (leap second), an offset
 * of Z or +/-HH:MM. Linear, no allocation. */
bool gql_date_time_valid(const char *text);
/* Appends the message refusing a DateTime value, `shown` as printed (GraphQL or inspect). */
void gql_date_time_message(const char *shown, gql_buf *out);

#endif
