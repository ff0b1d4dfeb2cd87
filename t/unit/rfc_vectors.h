
/*
 * Published test vectors: the keys and compact JWS of RFC 7515 appendix A
 * (A.1 HS256, A.2 RS256, A.3 ES256) and RFC 8037 appendix A (Ed25519).
 * Used by test_jwt.c as known answers and by the fuzzers as fixed keys.
 */

#ifndef HG_RFC_VECTORS_H
#define HG_RFC_VECTORS_H

#define RFC7515_A1_K                                                         \
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hc"  \
    "gUuTwjAzZr1Z9CAow"

#define RFC7515_A2_N                                                         \
    "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-"  \
    "4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r"  \
    "2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UT"  \
    "o7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxX"  \
    "FvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"

#define RFC7515_A3_X   "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU"
#define RFC7515_A3_Y   "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"
#define RFC8037_A2_X   "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"

/* {"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true} */
#define RFC7515_PAYLOAD                                                      \
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxl"   \
    "LmNvbS9pc19yb290Ijp0cnVlfQ"

#define RFC7515_A1_JWS                                                       \
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9." RFC7515_PAYLOAD              \
    ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

#define RFC7515_A2_JWS                                                       \
    "eyJhbGciOiJSUzI1NiJ9." RFC7515_PAYLOAD                                  \
    ".cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuH"  \
    "Im4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiu"  \
    "B--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN93"  \
    "83LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9Q"  \
    "OYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"

#define RFC7515_A3_JWS                                                       \
    "eyJhbGciOiJFUzI1NiJ9." RFC7515_PAYLOAD                                  \
    ".DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQ"  \
    "xfKTUJqPP3-Kg6NU1Q"

/* the payload is "Example of Ed25519 signing", not JSON */
#define RFC8037_A4_INPUT                                                     \
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
#define RFC8037_A4_SIG                                                       \
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9"  \
    "g7sVvpAr_MuM0KAg"

#define RFC_JWKS                                                             \
    "{\"keys\":["                                                            \
    "{\"kty\":\"oct\",\"kid\":\"hs\",\"k\":\"" RFC7515_A1_K "\"},"            \
    "{\"kty\":\"RSA\",\"kid\":\"rsa\",\"e\":\"AQAB\","                       \
    "\"n\":\"" RFC7515_A2_N "\"},"                                           \
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7515_A3_X "\","          \
    "\"y\":\"" RFC7515_A3_Y "\"},"                                           \
    "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ed\","                   \
    "\"x\":\"" RFC8037_A2_X "\"}"                                            \
    "]}"

#endif /* HG_RFC_VECTORS_H */
