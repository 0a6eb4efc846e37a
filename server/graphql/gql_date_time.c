/* gql_date_time: RFC 3339 date-times (section 5.6, "date-time"), the values the DateTime
 * scalar accepts, and the message that refuses any other. */
#include "config.h"

#include "server/graphql/gql_date_time.h"

#include <string.h>

/* `count` digits at *p as a number, advancing *p; -1 when one is not a digit. */
static int date_digits(const char **p, int count)
{
    int n = 0;
    for (int i = 0; i < count; i++, (*p)++) {
        if (**p < '0' || **p > '9')
            return -1;
        n = n * 10 + (**p - '0');
    }
    return n;
}

bool gql_date_time_valid(const char *text)
{
    static const int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const char *p = text;
    int year = date_digits(&p, 4);
    if (year < 0 || *p++ != '-')
        return false;
    int month = date_digits(&p, 2);
    if (month < 1 || month > 12 || *p++ != '-')
        return false;
    int day = date_digits(&p, 2);
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day < 1 || day > month_days[month - 1] || (month == 2 && day == 29 && !leap))
        return false;
    if (*p != 'T' && *p != 't')
        return false;
    p++;
    int hour = date_digits(&p, 2);
    if (hour < 0 || hour > 23 || *p++ != ':')
        return false;
    int minute = date_digits(&p, 2);
    if (minute < 0 || minute > 59 || *p++ != ':')
        return false;
    int second = date_digits(&p, 2);
    if (second < 0 || second > 60)
        return false;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'Z' || *p == 'z')
        return p[1] == '\0';
    if (*p != '+' && *p != '-')
        return false;
    p++;
    int offset_hour = date_digits(&p, 2);
    if (offset_hour < 0 || offset_hour > 23 || *p++ != ':')
        return false;
    int offset_minute = date_digits(&p, 2);
    return offset_minute >= 0 && offset_minute <= 59 && *p == '\0';
}

void gql_date_time_message(const char *shown, gql_buf *out)
{
    gql_buf_printf(out,
                   "DateTime cannot represent %s; expected an RFC 3339 date-time such as "
                   "\"2024-05-01T12:00:00Z\".",
                   shown);
}
