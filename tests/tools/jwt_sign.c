/* jwt_sign: signs a JWT for the tests (libjwt's encoder), so a test can mint good, expired,
 * foreign or wrongly signed tokens. Not installed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jwt.h>

static unsigned char *read_all(const char *path, size_t *length)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return NULL;
    unsigned char *data = malloc(1 << 20);
    *length = data ? fread(data, 1, (1 << 20) - 1, file) : 0;
    fclose(file);
    return data;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: jwt_sign ALG KEY_FILE CLAIMS_JSON [KID]\n"
                        "  KEY_FILE: the HMAC secret (a trailing newline is dropped) or a private key in PEM\n");
        return 2;
    }
    jwt_alg_t alg = jwt_str_alg(argv[1]);
    size_t length = 0;
    unsigned char *key = read_all(argv[2], &length);
    if (alg == JWT_ALG_INVAL || key == NULL) {
        fprintf(stderr, "jwt_sign: unknown alg %s or unreadable key file %s\n", argv[1], argv[2]);
        return 2;
    }
    if (alg >= JWT_ALG_HS256 && alg <= JWT_ALG_HS512)
        while (length > 0 && (key[length - 1] == '\n' || key[length - 1] == '\r'))
            length--;
    jwt_t *jwt = NULL;
    if (jwt_new(&jwt) != 0 || jwt_add_grants_json(jwt, argv[3]) != 0 ||
        jwt_set_alg(jwt, alg, alg == JWT_ALG_NONE ? NULL : key, alg == JWT_ALG_NONE ? 0 : (int) length) != 0 ||
        (argc == 5 && jwt_add_header(jwt, "kid", argv[4]) != 0)) {
        fprintf(stderr, "jwt_sign: cannot build the token (claims must be a JSON object)\n");
        return 1;
    }
    char *token = jwt_encode_str(jwt);
    if (token == NULL) {
        fprintf(stderr, "jwt_sign: signing failed (does the key fit the alg?)\n");
        return 1;
    }
    printf("%s\n", token);
    free(token);
    jwt_free(jwt);
    free(key);
    return 0;
}
