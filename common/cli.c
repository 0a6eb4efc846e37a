/* cli: the shared command line. Options are collected first, then the
 * configuration is built in precedence order: defaults < file < environment < flags. */
#include <config.h>

#include "common/alloc.h"
#include "common/cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/exit_codes.h"

enum { OPTION_HELP = 1000, OPTION_VERSION, OPTION_CONFIG, OPTION_LOG_LEVEL, OPTION_DATABASE, OPTION_SET,
       OPTION_PROGRAM_BASE = 2000 };

static size_t program_option_count(const cli_program *program)
{
    size_t n = 0;
    if (program->options)
        while (program->options[n].long_name)
            n++;
    return n;
}

static void print_option(FILE *out, const char *name, const char *argument, const char *help)
{
    char left[64];
    snprintf(left, sizeof left, "--%s%s%s", name, argument ? " " : "", argument ? argument : "");
    fprintf(out, "  %-26s %s\n", left, help);
}

static void print_help(const cli_program *program)
{
    printf("Usage: %s %s\n\n%s\n\n", program->name, program->synopsis, program->description);
    if (program->commands_help)
        printf("%s\n", program->commands_help);
    printf("Options:\n");
    for (size_t i = 0; i < program_option_count(program); i++)
        print_option(stdout, program->options[i].long_name, program->options[i].argument_name,
                     program->options[i].help);
    print_option(stdout, "database", "URL", "PostgreSQL URI or conninfo (key database.url)");
    print_option(stdout, "config", "FILE", "configuration file (default " CONFIG_DEFAULT_PATH ")");
    print_option(stdout, "set", "SECTION.KEY=VALUE", "set any configuration key (repeatable)");
    print_option(stdout, "log-level", "LEVEL", "error, warning, info or debug");
    print_option(stdout, "help", NULL, "print this help and exit");
    print_option(stdout, "version", NULL, "print the version and exit");
    printf("\nConfiguration: flags override TVSYNC_<SECTION>_<KEY> environment variables\n"
           "(e.g. TVSYNC_DATABASE_URL), which override the file, which overrides the\n"
           "defaults. TVSYNC_CONFIG names the file; TVSYNC_LOG_LEVEL sets the log level.\n"
           "See tvsync.conf(5).\n\n%s", TVSYNC_EXIT_CODES_HELP);
}

int cli_usage_error(const cli_state *state, const char *format, ...)
{
    const char *name = state && state->program ? state->program->name : "tvsync";
    va_list args;
    va_start(args, format);
    fprintf(stderr, "%s: ", name);
    vfprintf(stderr, format, args);
    va_end(args);
    fprintf(stderr, "\nTry '%s --help' for more information.\n", name);
    return TVSYNC_EXIT_USAGE;
}

static void add_setting(cli_state *state, const char *long_name, const char *section, const char *key,
                        const char *value)
{
    state->settings = alloc_realloc(state->settings, sizeof *state->settings * (size_t) (state->set_count + 1));
    struct cli_setting *setting = &state->settings[state->set_count++];
    setting->long_name = long_name;
    setting->section = section ? alloc_strdup(section) : NULL;
    setting->key = key ? alloc_strdup(key) : NULL;
    setting->value = alloc_strdup(value ? value : "");
}

/* Splits "section.key" into its parts; false when there is no dot. */
static bool split_key(const char *text, char *section, size_t section_size, char *key, size_t key_size)
{
    const char *dot = strchr(text, '.');
    if (!dot || dot == text || !dot[1] || (size_t) (dot - text) >= section_size || strlen(dot + 1) >= key_size)
        return false;
    memcpy(section, text, (size_t) (dot - text));
    section[dot - text] = '\0';
    strcpy(key, dot + 1);
    return true;
}

/* Builds *config from scratch; on failure writes error[] and returns false. */
static bool build_config(const cli_state *state, tvsync_config *config, char *error, size_t error_size)
{
    config_init(config);
    const char *path = state->config_path;
    bool must_exist = true;
    if (!path) {
        path = getenv("TVSYNC_CONFIG");
        if (!path || !*path) {
            path = CONFIG_DEFAULT_PATH;
            must_exist = false;
        }
    }
    if (!config_load_file(config, path, must_exist, error, error_size) ||
        !config_apply_environment(config, error, error_size))
        goto fail;
    for (int i = 0; i < state->set_count; i++) {
        const struct cli_setting *setting = &state->settings[i];
        if (!setting->section)
            continue;
        char origin[64];
        snprintf(origin, sizeof origin, "--%s", setting->long_name);
        if (!config_set(config, setting->section, setting->key, setting->value, origin, error, error_size))
            goto fail;
    }
    return true;
fail:
    config_free(config);
    return false;
}

static void apply_log_level(const cli_state *state, const tvsync_config *config)
{
    log_level level = LOG_LEVEL_INFO;
    if (state->program->log_section) {
        const config_key *key = config_key_find(state->program->log_section, "log_level");
        if (key)
            level = *(const log_level *) ((const char *) config + key->offset);
    }
    const char *env = getenv("TVSYNC_LOG_LEVEL");
    if (env && *env)
        log_level_parse(env, &level);
    if (state->log_level_flag)
        log_level_parse(state->log_level_flag, &level);
    log_set_level(level);
}

int cli_load(const cli_program *program, int argc, char **argv, cli_state *state, tvsync_config *config)
{
    memset(state, 0, sizeof *state);
    state->program = program;
    log_init(program->name);

    size_t own = program_option_count(program);
    struct option *options = alloc_realloc(NULL, sizeof *options * (own + 7));
    size_t n = 0;
    for (size_t i = 0; i < own; i++)
        options[n++] = (struct option){program->options[i].long_name,
                                       program->options[i].argument_name ? required_argument : no_argument, NULL,
                                       OPTION_PROGRAM_BASE + (int) i};
    options[n++] = (struct option){"help", no_argument, NULL, OPTION_HELP};
    options[n++] = (struct option){"version", no_argument, NULL, OPTION_VERSION};
    options[n++] = (struct option){"config", required_argument, NULL, OPTION_CONFIG};
    options[n++] = (struct option){"log-level", required_argument, NULL, OPTION_LOG_LEVEL};
    options[n++] = (struct option){"database", required_argument, NULL, OPTION_DATABASE};
    options[n++] = (struct option){"set", required_argument, NULL, OPTION_SET};
    options[n] = (struct option){NULL, 0, NULL, 0};

    int status = -1;
    opterr = 0;
    optind = 1;
    int option;
    while (status < 0 && (option = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (option) {
        case 'h':
        case OPTION_HELP:
            print_help(program);
            status = TVSYNC_EXIT_OK;
            break;
        case OPTION_VERSION:
            printf("%s (tvsync) %s\n", program->name, PACKAGE_VERSION);
            status = TVSYNC_EXIT_OK;
            break;
        case OPTION_CONFIG:
            free(state->config_path);
            state->config_path = alloc_strdup(optarg);
            break;
        case OPTION_LOG_LEVEL: {
            log_level level;
            if (!log_level_parse(optarg, &level)) {
                status = cli_usage_error(state, "--log-level %s: expected error, warning, info or debug", optarg);
                break;
            }
            free(state->log_level_flag);
            state->log_level_flag = alloc_strdup(optarg);
            break;
        }
        case OPTION_DATABASE:
            add_setting(state, "database", "database", "url", optarg);
            break;
        case OPTION_SET: {
            char section[64], key[128];
            const char *equals = strchr(optarg, '=');
            char name[200];
            if (!equals || (size_t) (equals - optarg) >= sizeof name) {
                status = cli_usage_error(state, "--set %s: expected SECTION.KEY=VALUE", optarg);
                break;
            }
            memcpy(name, optarg, (size_t) (equals - optarg));
            name[equals - optarg] = '\0';
            if (!split_key(name, section, sizeof section, key, sizeof key)) {
                status = cli_usage_error(state, "--set %s: expected SECTION.KEY=VALUE", optarg);
                break;
            }
            add_setting(state, "set", section, key, equals + 1);
            break;
        }
        case ':':
            status = cli_usage_error(state, "option '%s' needs a value", argv[optind - 1]);
            break;
        case '?':
            if (optopt)
                status = cli_usage_error(state, "unknown option '-%c'", optopt);
            else
                status = cli_usage_error(state, "unknown option '%s'", argv[optind - 1]);
            break;
        default: {
            const cli_option *own_option = &program->options[option - OPTION_PROGRAM_BASE];
            char section[64] = "", key[128] = "";
            if (own_option->config_key)
                split_key(own_option->config_key, section, sizeof section, key, sizeof key);
            add_setting(state, own_option->long_name, own_option->config_key ? section : NULL,
                        own_option->config_key ? key : NULL, own_option->argument_name ? optarg : "");
            break;
        }
        }
    }
    free(options);
    if (status >= 0) {
        cli_state_free(state);
        return status;
    }

    state->operand_count = argc - optind;
    state->operands = alloc_realloc(NULL, sizeof *state->operands * (size_t) (state->operand_count + 1));
    for (int i = 0; i < state->operand_count; i++)
        state->operands[i] = alloc_strdup(argv[optind + i]);
    state->operands[state->operand_count] = NULL;

    char error[1024];
    if (!build_config(state, config, error, sizeof error)) {
        fprintf(stderr, "%s: %s\n", program->name, error);
        cli_state_free(state);
        return TVSYNC_EXIT_CONFIG;
    }
    apply_log_level(state, config);
    return -1;
}

bool cli_reload(const cli_state *state, tvsync_config *config, char *error, size_t error_size)
{
    tvsync_config fresh;
    if (!build_config(state, &fresh, error, error_size))
        return false;
    config_free(config);
    *config = fresh;
    apply_log_level(state, config);
    return true;
}

const char *cli_option_value(const cli_state *state, const char *long_name)
{
    const char *value = NULL;
    for (int i = 0; i < state->set_count; i++)
        if (strcmp(state->settings[i].long_name, long_name) == 0)
            value = state->settings[i].value;
    return value;
}

void cli_state_free(cli_state *state)
{
    for (int i = 0; i < state->operand_count; i++)
        free(state->operands[i]);
    free(state->operands);
    for (int i = 0; i < state->set_count; i++) {
        free(state->settings[i].section);
        free(state->settings[i].key);
        free(state->settings[i].value);
    }
    free(state->settings);
    free(state->config_path);
    free(state->log_level_flag);
    memset(state, 0, sizeof *state);
}
