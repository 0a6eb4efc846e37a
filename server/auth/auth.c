/* auth: JWT verification for tvsync-server: key files (secret, PEM, JWKS) read into an
 * immutable, reference-counted key set; each request's Bearer token checked against it. */
#include <config.h>

#include "server/auth/auth.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>

#include "common/alloc.h"
#include "common/log.h"

/* A key file larger than this is not a key file. */
#define AUTH_KEY_FILE_MAX_BYTES (1024 * 1024)
/* NIST and RFC 7518 (3.2): an HMAC key at least as long as the hash output. */
#define AUTH_SECRET_MIN_BYTES 32
#define AUTH_RSA_MIN_BITS 2048
/* Longer tokens are refused before any decoding: real ones are well under this. */
#define AUTH_TOKEN_MAX_BYTES 16384
/* PostgreSQL truncates identifiers to NAMEDATALEN - 1 bytes: a longer role would name another. */
#define AUTH_ROLE_MAX_BYTES 63
#define AUTH_ROLE_PATH_MAX 16

typedef enum auth_key_type {
    AUTH_KEY_HMAC,
    AUTH_KEY_RSA,
    AUTH_KEY_EC,
} auth_key_type;

typedef struct auth_key {
    char *kid;                /* NULL: none */
    auth_key_type type;
    jwt_alg_t ec_alg;         /* EC: the one algorithm its curve signs (ES256 for P-256, ...) */
    jwt_alg_t declared_alg;   /* a JWK's "alg"; JWT_ALG_NONE when not given */
    unsigned char *material;  /* HMAC: the secret */
    int length;
    EVP_PKEY *public_key;     /* RSA/EC: parsed once, only read afterwards (safe across threads) */
} auth_key;

struct auth_keys {
    atomic_int references;
    uint64_t generation;
    auth_key *keys;
    size_t count;
    char *audience;           /* NULL: not checked */
    char *issuer;             /* NULL: not checked */
    char *anonymous_role;     /* NULL: a request without a token is refused */
    char *role_path[AUTH_ROLE_PATH_MAX];
    size_t role_path_length;
    char summary[256];
};

/* The last generation handed out (auth_keys_generation). */
static atomic_uint_least64_t keys_generation_counter;

struct auth_current {
    pthread_mutex_t lock;
    auth_keys *keys;
};

void auth_identity_clear(auth_identity *identity)
{
    if (identity == NULL)
        return;
    free(identity->role);
    free(identity->claims_json);
    memset(identity, 0, sizeof *identity);
}

bool auth_configured(const tvsync_config *config)
{
    return (config->server.jwt_key_file != NULL && config->server.jwt_key_file[0] != '\0') ||
           (config->server.anonymous_role != NULL && config->server.anonymous_role[0] != '\0');
}

/* ---- base64url (RFC 4648 section 5, no padding, as JWS uses it) ---- */

static int base64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Decodes length characters into a new NUL-terminated buffer; NULL when not base64url. */
static unsigned char *base64url_decode(const char *text, size_t length, size_t *decoded_length)
{
    if (length % 4 == 1)
        return NULL;
    unsigned char *out = alloc_malloc(length / 4 * 3 + 3);
    size_t used = 0;
    uint32_t bits = 0;
    int count = 0;
    for (size_t i = 0; i < length; i++) {
        int value = base64url_value((unsigned char) text[i]);
        if (value < 0) {
            free(out);
            return NULL;
        }
        bits = bits << 6 | (uint32_t) value;
        if (++count == 4) {
            out[used++] = (unsigned char) (bits >> 16);
            out[used++] = (unsigned char) (bits >> 8);
            out[used++] = (unsigned char) bits;
            bits = 0;
            count = 0;
        }
    }
    if (count == 2) {
        out[used++] = (unsigned char) (bits >> 4);
    } else if (count == 3) {
        out[used++] = (unsigned char) (bits >> 10);
        out[used++] = (unsigned char) (bits >> 2);
    }
    out[used] = '\0';
    *decoded_length = used;
    return out;
}

/* Parses a base64url segment holding a JSON object; NULL when it is anything else. With
 * decoded_out, the decoded text is handed to the caller (freed with free) on success. */
static cJSON *segment_json(const char *text, size_t length, char **decoded_out)
{
    size_t decoded_length;
    unsigned char *decoded = base64url_decode(text, length, &decoded_length);
    if (decoded == NULL)
        return NULL;
    cJSON *json = NULL;
    if (strlen((char *) decoded) == decoded_length)
        json = cJSON_ParseWithLength((const char *) decoded, decoded_length);
    if (decoded_out != NULL && cJSON_IsObject(json)) {
        *decoded_out = (char *) decoded;
        decoded = NULL;
    }
    free(decoded);
    if (json != NULL && !cJSON_IsObject(json)) {
        cJSON_Delete(json);
        json = NULL;
    }
    return json;
}

/* ---- key loading ---- */

static void key_free(auth_key *key)
{
    free(key->kid);
    if (key->material != NULL)
        memset(key->material, 0, (size_t) key->length);
    free(key->material);
    EVP_PKEY_free(key->public_key);
}

static void keys_free(auth_keys *keys)
{
    for (size_t i = 0; i < keys->count; i++)
        key_free(&keys->keys[i]);
    free(keys->keys);
    free(keys->audience);
    free(keys->issuer);
    free(keys->anonymous_role);
    for (size_t i = 0; i < keys->role_path_length; i++)
        free(keys->role_path[i]);
    free(keys);
}

static auth_key *keys_add(auth_keys *keys)
{
    keys->keys = alloc_array(keys->keys, keys->count + 1, sizeof *keys->keys);
    auth_key *key = &keys->keys[keys->count++];
    memset(key, 0, sizeof *key);
    key->declared_alg = JWT_ALG_NONE;
    return key;
}

static char *read_key_file(const char *path, size_t *length, char *error, size_t error_size)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        snprintf(error, error_size, "jwt_key_file %s: cannot open it: %s", path, strerror(errno));
        return NULL;
    }
    char *data = alloc_malloc(AUTH_KEY_FILE_MAX_BYTES + 1);
    size_t used = fread(data, 1, AUTH_KEY_FILE_MAX_BYTES + 1, file);
    bool failed = ferror(file);
    fclose(file);
    if (failed || used > AUTH_KEY_FILE_MAX_BYTES) {
        snprintf(error, error_size, "jwt_key_file %s: %s", path,
                 failed ? "cannot read it" : "larger than 1 MiB: not a key file");
        free(data);
        return NULL;
    }
    data[used] = '\0';
    *length = used;
    return data;
}

/* Fills key's type from a parsed public key; false with error[] when tvsync cannot use it. */
static bool key_type_of(EVP_PKEY *pkey, auth_key *key, const char *where, char *error, size_t error_size)
{
    int id = EVP_PKEY_get_base_id(pkey);
    if (id == EVP_PKEY_RSA) {
        if (EVP_PKEY_get_bits(pkey) < AUTH_RSA_MIN_BITS) {
            snprintf(error, error_size, "%s: the RSA key has %d bits; use at least %d", where, EVP_PKEY_get_bits(pkey),
                     AUTH_RSA_MIN_BITS);
            return false;
        }
        key->type = AUTH_KEY_RSA;
        return true;
    }
    if (id == EVP_PKEY_EC) {
        char group[64] = "";
        size_t group_length = 0;
        EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &group_length);
        key->type = AUTH_KEY_EC;
        if (strcmp(group, "prime256v1") == 0)
            key->ec_alg = JWT_ALG_ES256;
        else if (strcmp(group, "secp384r1") == 0)
            key->ec_alg = JWT_ALG_ES384;
        else if (strcmp(group, "secp521r1") == 0)
            key->ec_alg = JWT_ALG_ES512;
        else {
            snprintf(error, error_size, "%s: EC curve %s is not one JWT uses (P-256, P-384, P-521)", where,
                     group[0] ? group : "(unknown)");
            return false;
        }
        return true;
    }
    snprintf(error, error_size, "%s: the key is neither RSA nor EC; tokens are verified with HS*, RS* or ES* keys",
             where);
    return false;
}

static bool load_pem(auth_keys *keys, const char *text, size_t length, const char *path, char *error,
                     size_t error_size)
{
    BIO *bio = alloc_check(BIO_new_mem_buf(text, (int) length));
    EVP_PKEY *pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    char where[600];
    snprintf(where, sizeof where, "jwt_key_file %s", path);
    if (pkey == NULL) {
        snprintf(error, error_size,
                 "%s: not a PEM public key; give the issuer's public key (-----BEGIN PUBLIC KEY-----, e.g. from "
                 "openssl pkey -pubout), never its private key or a certificate",
                 where);
        return false;
    }
    auth_key key = {.declared_alg = JWT_ALG_NONE, .public_key = pkey};
    if (!key_type_of(pkey, &key, where, error, error_size)) {
        EVP_PKEY_free(pkey);
        return false;
    }
    *keys_add(keys) = key;
    return true;
}

static const char *jwk_string(const cJSON *jwk, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(jwk, name);
    return cJSON_IsString(item) ? item->valuestring : NULL;
}

/* A JWK member holding a base64url big-endian number; NULL when absent or not base64url. */
static unsigned char *jwk_bytes(const cJSON *jwk, const char *name, size_t *length)
{
    const char *text = jwk_string(jwk, name);
    return text != NULL ? base64url_decode(text, strlen(text), length) : NULL;
}

static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM_BLD *build)
{
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(build);
    EVP_PKEY_CTX *context = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    EVP_PKEY *pkey = NULL;
    if (params != NULL && context != NULL && EVP_PKEY_fromdata_init(context) == 1)
        EVP_PKEY_fromdata(context, &pkey, EVP_PKEY_PUBLIC_KEY, params);
    EVP_PKEY_CTX_free(context);
    OSSL_PARAM_free(params);
    return pkey;
}

static EVP_PKEY *jwk_rsa(const cJSON *jwk)
{
    size_t n_length = 0, e_length = 0;
    unsigned char *n = jwk_bytes(jwk, "n", &n_length);
    unsigned char *e = jwk_bytes(jwk, "e", &e_length);
    EVP_PKEY *pkey = NULL;
    if (n != NULL && e != NULL && n_length > 0 && e_length > 0) {
        BIGNUM *modulus = BN_bin2bn(n, (int) n_length, NULL);
        BIGNUM *exponent = BN_bin2bn(e, (int) e_length, NULL);
        OSSL_PARAM_BLD *build = OSSL_PARAM_BLD_new();
        if (modulus && exponent && build && OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_N, modulus) &&
            OSSL_PARAM_BLD_push_BN(build, OSSL_PKEY_PARAM_RSA_E, exponent))
            pkey = pkey_from_params("RSA", build);
        OSSL_PARAM_BLD_free(build);
        BN_free(modulus);
        BN_free(exponent);
    }
    free(n);
    free(e);
    return pkey;
}

static EVP_PKEY *jwk_ec(const cJSON *jwk)
{
    const char *curve = jwk_string(jwk, "crv");
    const char *group = NULL;
    size_t field = 0;
    if (curve != NULL && strcmp(curve, "P-256") == 0)
        group = "prime256v1", field = 32;
    else if (curve != NULL && strcmp(curve, "P-384") == 0)
        group = "secp384r1", field = 48;
    else if (curve != NULL && strcmp(curve, "P-521") == 0)
        group = "secp521r1", field = 66;
    if (group == NULL)
        return NULL;
    size_t x_length = 0, y_length = 0;
    unsigned char *x = jwk_bytes(jwk, "x", &x_length);
    unsigned char *y = jwk_bytes(jwk, "y", &y_length);
    EVP_PKEY *pkey = NULL;
    if (x != NULL && y != NULL && x_length == field && y_length == field) {
        /* The uncompressed point: 0x04 || x || y (SEC 1, 2.3.3). */
        unsigned char point[1 + 2 * 66];
        point[0] = 0x04;
        memcpy(point + 1, x, field);
        memcpy(point + 1 + field, y, field);
        OSSL_PARAM_BLD *build = OSSL_PARAM_BLD_new();
        if (build && OSSL_PARAM_BLD_push_utf8_string(build, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
            OSSL_PARAM_BLD_push_octet_string(build, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * field))
            pkey = pkey_from_params("EC", build);
        OSSL_PARAM_BLD_free(build);
    }
    free(x);
    free(y);
    return pkey;
}

static bool load_jwk(auth_keys *keys, const cJSON *jwk, size_t index, const char *path, char *error,
                     size_t error_size)
{
    char where[700];
    const char *kid = jwk_string(jwk, "kid");
    snprintf(where, sizeof where, "jwt_key_file %s: key %zu%s%s%s", path, index + 1, kid ? " (kid " : "",
             kid ? kid : "", kid ? ")" : "");
    if (!cJSON_IsObject(jwk)) {
        snprintf(error, error_size, "%s: not a JSON object", where);
        return false;
    }
    const char *use = jwk_string(jwk, "use");
    if (use != NULL && strcmp(use, "sig") != 0)
        return true; /* an encryption key of the same set: not ours to use */
    const char *kty = jwk_string(jwk, "kty");
    const char *alg = jwk_string(jwk, "alg");
    auth_key key = {.declared_alg = JWT_ALG_NONE};
    if (alg != NULL) {
        key.declared_alg = jwt_str_alg(alg);
        if (key.declared_alg == JWT_ALG_INVAL || key.declared_alg == JWT_ALG_NONE) {
            snprintf(error, error_size, "%s: alg \"%s\" is not one tvsync verifies (HS*, RS*, ES*)", where, alg);
            return false;
        }
    }
    if (kty != NULL && strcmp(kty, "oct") == 0) {
        size_t length = 0;
        key.material = jwk_bytes(jwk, "k", &length);
        key.length = (int) length;
        key.type = AUTH_KEY_HMAC;
        if (key.material == NULL || length < AUTH_SECRET_MIN_BYTES) {
            snprintf(error, error_size, "%s: an oct key needs \"k\", base64url, of at least %d bytes", where,
                     AUTH_SECRET_MIN_BYTES);
            free(key.material);
            return false;
        }
    } else if (kty != NULL && (strcmp(kty, "RSA") == 0 || strcmp(kty, "EC") == 0)) {
        bool rsa = strcmp(kty, "RSA") == 0;
        EVP_PKEY *pkey = rsa ? jwk_rsa(jwk) : jwk_ec(jwk);
        if (pkey == NULL) {
            snprintf(error, error_size, "%s: %s", where,
                     rsa ? "an RSA key needs \"n\" and \"e\", base64url"
                         : "an EC key needs \"crv\" (P-256, P-384 or P-521) and \"x\", \"y\" of its size, base64url");
            return false;
        }
        if (!key_type_of(pkey, &key, where, error, error_size)) {
            EVP_PKEY_free(pkey);
            return false;
        }
        key.public_key = pkey;
    } else {
        snprintf(error, error_size, "%s: kty \"%s\" is not RSA, EC or oct", where, kty ? kty : "(none)");
        return false;
    }
    key.kid = kid != NULL ? alloc_strdup(kid) : NULL;
    *keys_add(keys) = key;
    return true;
}

static bool load_jwks(auth_keys *keys, const char *text, size_t length, const char *path, char *error,
                      size_t error_size)
{
    cJSON *json = cJSON_ParseWithLength(text, length);
    const cJSON *set = cJSON_GetObjectItemCaseSensitive(json, "keys");
    bool ok = true;
    if (cJSON_IsArray(set)) {
        size_t index = 0;
        const cJSON *jwk;
        cJSON_ArrayForEach(jwk, set) {
            if (!(ok = load_jwk(keys, jwk, index++, path, error, error_size)))
                break;
        }
    } else if (cJSON_IsObject(json) && cJSON_GetObjectItemCaseSensitive(json, "kty") != NULL) {
        ok = load_jwk(keys, json, 0, path, error, error_size);
    } else {
        snprintf(error, error_size,
                 "jwt_key_file %s: starts with '{' but is not a JWK set ({\"keys\": [...]}) or a JWK in JSON", path);
        ok = false;
    }
    cJSON_Delete(json);
    if (ok && keys->count == 0) {
        snprintf(error, error_size, "jwt_key_file %s: the JWK set holds no signing key", path);
        ok = false;
    }
    return ok;
}

static bool load_secret(auth_keys *keys, char *text, size_t length, const char *path, char *error,
                        size_t error_size)
{
    /* Editors and `echo` end the file with a newline the issuer does not sign with. */
    while (length > 0 && (text[length - 1] == '\n' || text[length - 1] == '\r'))
        length--;
    if (length < AUTH_SECRET_MIN_BYTES) {
        snprintf(error, error_size,
                 "jwt_key_file %s: an HS256 secret must be at least %d bytes (this one has %zu); make one with: "
                 "openssl rand -base64 48",
                 path, AUTH_SECRET_MIN_BYTES, length);
        return false;
    }
    auth_key *key = keys_add(keys);
    key->type = AUTH_KEY_HMAC;
    key->material = alloc_malloc(length);
    memcpy(key->material, text, length);
    key->length = (int) length;
    return true;
}

static const char *key_kind(const auth_key *key)
{
    if (key->type == AUTH_KEY_HMAC)
        return "HS*";
    if (key->type == AUTH_KEY_RSA)
        return "RS*";
    return jwt_alg_str(key->ec_alg);
}

static bool set_role_path(auth_keys *keys, const char *claim, char *error, size_t error_size)
{
    if (claim == NULL || claim[0] == '\0' || strcmp(claim, ".") == 0) {
        snprintf(error, error_size, "jwt_role_claim is empty: name the claim holding the role (default role)");
        return false;
    }
    if (claim[0] != '.') {
        /* A plain name is taken whole: namespaced claims ("https://example.com/role") hold dots. */
        keys->role_path[keys->role_path_length++] = alloc_strdup(claim);
        return true;
    }
    const char *part = claim + 1;
    for (;;) {
        const char *dot = strchr(part, '.');
        size_t length = dot ? (size_t) (dot - part) : strlen(part);
        if (length == 0 || keys->role_path_length == AUTH_ROLE_PATH_MAX) {
            snprintf(error, error_size,
                     "jwt_role_claim \"%s\": a path is .name.name... (at most %d names, none empty), e.g. "
                     ".realm_access.role",
                     claim, AUTH_ROLE_PATH_MAX);
            return false;
        }
        char *name = alloc_malloc(length + 1);
        memcpy(name, part, length);
        name[length] = '\0';
        keys->role_path[keys->role_path_length++] = name;
        if (dot == NULL)
            return true;
        part = dot + 1;
    }
}

static char *optional_copy(const char *text)
{
    return text != NULL && text[0] != '\0' ? alloc_strdup(text) : NULL;
}

auth_keys *auth_keys_load(const tvsync_config *config, char *error, size_t error_size)
{
    auth_keys *keys = alloc_calloc(1, sizeof *keys);
    atomic_init(&keys->references, 1);
    keys->generation = atomic_fetch_add(&keys_generation_counter, 1) + 1;
    keys->audience = optional_copy(config->server.jwt_audience);
    keys->issuer = optional_copy(config->server.jwt_issuer);
    keys->anonymous_role = optional_copy(config->server.anonymous_role);
    if (keys->anonymous_role != NULL && strlen(keys->anonymous_role) > AUTH_ROLE_MAX_BYTES) {
        snprintf(error, error_size, "anonymous_role \"%s\" is longer than PostgreSQL's %d-byte names",
                 keys->anonymous_role, AUTH_ROLE_MAX_BYTES);
        keys_free(keys);
        return NULL;
    }
    if (!set_role_path(keys, config->server.jwt_role_claim, error, error_size)) {
        keys_free(keys);
        return NULL;
    }
    const char *path = config->server.jwt_key_file;
    if (path == NULL || path[0] == '\0') {
        snprintf(keys->summary, sizeof keys->summary, "no key file: every request runs as anonymous_role %s",
                 keys->anonymous_role ? keys->anonymous_role : "(none)");
        return keys;
    }
    size_t length = 0;
    char *text = read_key_file(path, &length, error, error_size);
    if (text == NULL) {
        keys_free(keys);
        return NULL;
    }
    const char *start = text;
    while (isspace((unsigned char) *start))
        start++;
    bool ok;
    if (strncmp(start, "-----BEGIN", 10) == 0)
        ok = load_pem(keys, text, length, path, error, error_size);
    else if (*start == '{')
        ok = load_jwks(keys, text, length, path, error, error_size);
    else {
        ok = load_secret(keys, text, length, path, error, error_size);
        /* Whoever reads a shared secret can sign tokens for any role. */
        struct stat status;
        if (ok && stat(path, &status) == 0 && (status.st_mode & 077) != 0)
            log_warning("jwt_key_file %s: the secret is readable by other users (mode %03o); chmod 600 it, since "
                        "anyone who reads it can sign tokens for any role",
                        path, (unsigned) (status.st_mode & 0777));
    }
    memset(text, 0, length);
    free(text);
    if (!ok) {
        keys_free(keys);
        return NULL;
    }
    int used = snprintf(keys->summary, sizeof keys->summary, "%zu key%s (", keys->count, keys->count == 1 ? "" : "s");
    for (size_t i = 0; i < keys->count && used > 0 && (size_t) used < sizeof keys->summary; i++)
        used += snprintf(keys->summary + used, sizeof keys->summary - (size_t) used, "%s%s", i ? ", " : "",
                         key_kind(&keys->keys[i]));
    if (used > 0 && (size_t) used < sizeof keys->summary)
        snprintf(keys->summary + used, sizeof keys->summary - (size_t) used, ") from %s", path);
    return keys;
}

uint64_t auth_keys_generation(const auth_keys *keys)
{
    return keys->generation;
}

const char *auth_keys_summary(const auth_keys *keys)
{
    return keys->summary;
}

auth_keys *auth_keys_ref(auth_keys *keys)
{
    if (keys != NULL)
        atomic_fetch_add(&keys->references, 1);
    return keys;
}

void auth_keys_release(auth_keys *keys)
{
    if (keys != NULL && atomic_fetch_sub(&keys->references, 1) == 1)
        keys_free(keys);
}

/* ---- verification ---- */

static auth_result refuse(auth_failure *failure, const char *reason, const char *description)
{
    failure->reason = reason;
    failure->description = description;
    return AUTH_INVALID;
}

/* The key for a token's alg and kid, or NULL with *failure set. */
static const auth_key *choose_key(const auth_keys *keys, jwt_alg_t alg, const char *kid, auth_failure *failure)
{
    const auth_key *key = NULL;
    if (kid != NULL) {
        for (size_t i = 0; i < keys->count && key == NULL; i++)
            if (keys->keys[i].kid != NULL && strcmp(keys->keys[i].kid, kid) == 0)
                key = &keys->keys[i];
        /* A single key without kid (a secret or PEM file) verifies whatever kid a token names. */
        if (key == NULL && keys->count == 1 && keys->keys[0].kid == NULL)
            key = &keys->keys[0];
        if (key == NULL) {
            refuse(failure, "key", "no key matches the token's kid");
            return NULL;
        }
    } else if (keys->count == 1) {
        key = &keys->keys[0];
    } else {
        refuse(failure, "key", "the token has no kid and the server has several keys");
        return NULL;
    }
    bool fits;
    switch (alg) {
    case JWT_ALG_HS256:
    case JWT_ALG_HS384:
    case JWT_ALG_HS512:
        fits = key->type == AUTH_KEY_HMAC;
        break;
    case JWT_ALG_RS256:
    case JWT_ALG_RS384:
    case JWT_ALG_RS512:
        fits = key->type == AUTH_KEY_RSA;
        break;
    case JWT_ALG_ES256:
    case JWT_ALG_ES384:
    case JWT_ALG_ES512:
        fits = key->type == AUTH_KEY_EC && key->ec_alg == alg;
        break;
    default:
        fits = false;
    }
    if (fits && key->declared_alg != JWT_ALG_NONE)
        fits = key->declared_alg == alg;
    if (!fits) {
        refuse(failure, "algorithm", "the token's alg does not match the server's key");
        return NULL;
    }
    return key;
}

static bool hmac_verifies(const auth_key *key, const char *token, size_t length)
{
    /* libjwt wants the token NUL-terminated: a copy only when trailing blanks were trimmed. */
    char *copy = NULL;
    if (token[length] != '\0') {
        copy = alloc_malloc(length + 1);
        memcpy(copy, token, length);
        copy[length] = '\0';
    }
    jwt_t *jwt = NULL;
    int rc = jwt_decode(&jwt, copy != NULL ? copy : token, key->material, key->length);
    free(copy);
    if (jwt != NULL)
        jwt_free(jwt);
    return rc == 0;
}

/* JWS ES* signatures are R || S, each the curve's size (RFC 7518 3.4); OpenSSL verifies DER. */
static unsigned char *ecdsa_der(const unsigned char *raw, size_t raw_length, jwt_alg_t alg, int *der_length)
{
    size_t half = alg == JWT_ALG_ES256 ? 32 : alg == JWT_ALG_ES384 ? 48 : 66;
    if (raw_length != 2 * half)
        return NULL;
    ECDSA_SIG *signature = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(raw, (int) half, NULL);
    BIGNUM *s = BN_bin2bn(raw + half, (int) half, NULL);
    unsigned char *der = NULL;
    if (signature != NULL && r != NULL && s != NULL && ECDSA_SIG_set0(signature, r, s) == 1) {
        r = s = NULL; /* owned by signature now */
        *der_length = i2d_ECDSA_SIG(signature, &der);
        if (*der_length <= 0)
            der = NULL;
    }
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(signature);
    return der;
}

/* RS* and ES* with the key parsed at load: libjwt 1.x would parse the PEM key again for every
 * token, which OpenSSL 3 makes cost more than the verification itself. */
static bool public_key_verifies(const auth_key *key, jwt_alg_t alg, const char *signed_part, size_t signed_length,
                                const char *signature_text, size_t signature_text_length)
{
    const EVP_MD *digest = alg == JWT_ALG_RS256 || alg == JWT_ALG_ES256   ? EVP_sha256()
                           : alg == JWT_ALG_RS384 || alg == JWT_ALG_ES384 ? EVP_sha384()
                                                                          : EVP_sha512();
    size_t raw_length = 0;
    unsigned char *raw = base64url_decode(signature_text, signature_text_length, &raw_length);
    if (raw == NULL || raw_length == 0) {
        free(raw);
        return false;
    }
    unsigned char *signature = raw;
    size_t signature_length = raw_length;
    unsigned char *der = NULL;
    if (key->type == AUTH_KEY_EC) {
        int der_length = 0;
        der = ecdsa_der(raw, raw_length, alg, &der_length);
        signature = der;
        signature_length = (size_t) der_length;
    }
    bool ok = false;
    EVP_MD_CTX *context = EVP_MD_CTX_new();
    if (signature != NULL && context != NULL &&
        EVP_DigestVerifyInit(context, NULL, digest, NULL, key->public_key) == 1)
        ok = EVP_DigestVerify(context, signature, signature_length, (const unsigned char *) signed_part,
                              signed_length) == 1;
    EVP_MD_CTX_free(context);
    OPENSSL_free(der);
    free(raw);
    return ok;
}

static bool audience_matches(const cJSON *aud, const char *audience)
{
    if (cJSON_IsString(aud))
        return strcmp(aud->valuestring, audience) == 0;
    const cJSON *item;
    if (cJSON_IsArray(aud))
        cJSON_ArrayForEach(item, aud) if (cJSON_IsString(item) && strcmp(item->valuestring, audience) == 0) return true;
    return false;
}

/* Checks the registered claims of a verified payload. */
static auth_result check_claims(const auth_keys *keys, const cJSON *claims, time_t now, auth_failure *failure,
                                time_t *valid_until)
{
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
    const cJSON *nbf = cJSON_GetObjectItemCaseSensitive(claims, "nbf");
    if ((exp != NULL && !cJSON_IsNumber(exp)) || (nbf != NULL && !cJSON_IsNumber(nbf)))
        return refuse(failure, "malformed", "exp and nbf must be numbers (seconds since 1970)");
    if (exp != NULL && (double) now > exp->valuedouble + AUTH_CLOCK_LEEWAY_SECONDS)
        return refuse(failure, "expired", "the token has expired");
    if (nbf != NULL && (double) now + AUTH_CLOCK_LEEWAY_SECONDS < nbf->valuedouble)
        return refuse(failure, "not_yet_valid", "the token is not valid yet (nbf)");
    if (keys->audience != NULL &&
        !audience_matches(cJSON_GetObjectItemCaseSensitive(claims, "aud"), keys->audience))
        return refuse(failure, "audience", "the token's aud does not name this server (jwt_audience)");
    if (keys->issuer != NULL) {
        const cJSON *iss = cJSON_GetObjectItemCaseSensitive(claims, "iss");
        if (!cJSON_IsString(iss) || strcmp(iss->valuestring, keys->issuer) != 0)
            return refuse(failure, "issuer", "the token's iss is not the expected issuer (jwt_issuer)");
    }
    *valid_until = AUTH_NO_EXPIRY;
    if (exp != NULL) {
        /* Verified at now, so last >= now: the cast truncates as floor would (now is past 1970);
         * an exp too far for time_t means no end that matters. */
        double last = exp->valuedouble + AUTH_CLOCK_LEEWAY_SECONDS;
        *valid_until = last >= 9.0e18 ? AUTH_NO_EXPIRY - 1 : last < (double) now ? now : (time_t) last;
    }
    return AUTH_OK;
}

static const char *role_of(const auth_keys *keys, const cJSON *claims)
{
    const cJSON *item = claims;
    for (size_t i = 0; i < keys->role_path_length && item != NULL; i++)
        item = cJSON_IsObject(item) ? cJSON_GetObjectItemCaseSensitive(item, keys->role_path[i]) : NULL;
    if (!cJSON_IsString(item) || item->valuestring[0] == '\0' || strlen(item->valuestring) > AUTH_ROLE_MAX_BYTES)
        return NULL;
    return item->valuestring;
}

static auth_result anonymous(const auth_keys *keys, auth_identity *identity, auth_failure *failure)
{
    if (keys->anonymous_role == NULL) {
        failure->reason = "missing";
        failure->description = "This server needs a token: send Authorization: Bearer <JWT>.";
        return AUTH_MISSING;
    }
    identity->role = alloc_strdup(keys->anonymous_role);
    identity->claims_json = alloc_strdup("{}");
    identity->anonymous = true;
    return AUTH_OK;
}

auth_result auth_verify(const auth_keys *keys, const char *authorization, time_t now, auth_identity *identity,
                        auth_failure *failure)
{
    time_t valid_until;
    return auth_verify_until(keys, authorization, now, identity, failure, &valid_until);
}

auth_result auth_verify_until(const auth_keys *keys, const char *authorization, time_t now, auth_identity *identity,
                              auth_failure *failure, time_t *valid_until)
{
    memset(identity, 0, sizeof *identity);
    failure->reason = NULL;
    failure->description = NULL;
    if (authorization == NULL) {
        *valid_until = AUTH_NO_EXPIRY;
        return anonymous(keys, identity, failure);
    }
    while (*authorization == ' ' || *authorization == '\t')
        authorization++;
    if (strncasecmp(authorization, "Bearer", 6) != 0 || (authorization[6] != ' ' && authorization[6] != '\t'))
        return refuse(failure, "malformed", "the Authorization header must be Bearer <JWT>");
    const char *token = authorization + 7;
    while (*token == ' ' || *token == '\t')
        token++;
    size_t length = strlen(token);
    while (length > 0 && (token[length - 1] == ' ' || token[length - 1] == '\t'))
        length--;
    if (keys->count == 0)
        return refuse(failure, "no_tokens", "this server takes no tokens (no jwt_key_file): send none");
    if (length == 0 || length > AUTH_TOKEN_MAX_BYTES)
        return refuse(failure, "malformed", "the token is not a JWT (header.payload.signature)");
    const char *first_dot = memchr(token, '.', length);
    const char *second_dot = first_dot ? memchr(first_dot + 1, '.', length - (size_t) (first_dot + 1 - token)) : NULL;
    if (second_dot == NULL || memchr(second_dot + 1, '.', length - (size_t) (second_dot + 1 - token)) != NULL)
        return refuse(failure, "malformed", "the token is not a JWT (header.payload.signature)");
    /* The claims go on as the issuer wrote them (no reprinting: integers past 2^53 keep
     * their digits); the signature covers exactly these bytes. */
    char *claims_text = NULL;
    cJSON *header = segment_json(token, (size_t) (first_dot - token), NULL);
    cJSON *claims = segment_json(first_dot + 1, (size_t) (second_dot - first_dot - 1), &claims_text);
    auth_result result = AUTH_OK;
    if (header == NULL || claims == NULL) {
        result = refuse(failure, "malformed", "the token's header or payload is not base64url JSON");
        goto done;
    }
    const cJSON *alg_item = cJSON_GetObjectItemCaseSensitive(header, "alg");
    const cJSON *kid_item = cJSON_GetObjectItemCaseSensitive(header, "kid");
    jwt_alg_t alg = cJSON_IsString(alg_item) ? jwt_str_alg(alg_item->valuestring) : JWT_ALG_INVAL;
    if (alg == JWT_ALG_INVAL || alg == JWT_ALG_NONE) {
        result = refuse(failure, "algorithm", "the token's alg is not HS256/384/512, RS256/384/512 or ES256/384/512");
        goto done;
    }
    const auth_key *key = choose_key(keys, alg, cJSON_IsString(kid_item) ? kid_item->valuestring : NULL, failure);
    if (key == NULL) {
        result = AUTH_INVALID;
        goto done;
    }
    bool verified = key->type == AUTH_KEY_HMAC
                        ? hmac_verifies(key, token, length)
                        : public_key_verifies(key, alg, token, (size_t) (second_dot - token), second_dot + 1,
                                              length - (size_t) (second_dot + 1 - token));
    if (!verified) {
        result = refuse(failure, "signature", "the token's signature does not verify");
        goto done;
    }
    result = check_claims(keys, claims, now, failure, valid_until);
    if (result != AUTH_OK)
        goto done;
    const char *role = role_of(keys, claims);
    if (role == NULL) {
        result = refuse(failure, "role", "the token has no role claim (jwt_role_claim) naming a role");
        goto done;
    }
    identity->role = alloc_strdup(role);
    identity->claims_json = claims_text;
    claims_text = NULL;
    identity->anonymous = false;
done:
    free(claims_text);
    cJSON_Delete(header);
    cJSON_Delete(claims);
    return result;
}

/* ---- the current keys of a running server ---- */

auth_current *auth_current_new(auth_keys *keys)
{
    auth_current *current = alloc_calloc(1, sizeof *current);
    pthread_mutex_init(&current->lock, NULL);
    current->keys = keys;
    return current;
}

auth_keys *auth_current_acquire(auth_current *current)
{
    pthread_mutex_lock(&current->lock);
    auth_keys *keys = auth_keys_ref(current->keys);
    pthread_mutex_unlock(&current->lock);
    return keys;
}

void auth_current_replace(auth_current *current, auth_keys *keys)
{
    pthread_mutex_lock(&current->lock);
    auth_keys *old = current->keys;
    current->keys = keys;
    pthread_mutex_unlock(&current->lock);
    auth_keys_release(old);
}

void auth_current_free(auth_current *current)
{
    if (current == NULL)
        return;
    auth_keys_release(current->keys);
    pthread_mutex_destroy(&current->lock);
    free(current);
}
