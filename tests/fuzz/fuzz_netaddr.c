/* Client addresses (statusd/netaddr.h): one X-Forwarded-For hop parsed
 * from exactly its bytes (sd_addr_parse), the input as a trusted_proxies
 * list (sd_cidr_list_parse) and as an X-Forwarded-For header behind a
 * trusted proxy (sd_client_address). */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "fuzz.h"
#include "statusd/netaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *hop = fuzz_exact(data, size);
    struct sockaddr_storage ss;
    if (sd_addr_parse(hop, size, &ss) == SD_OK) {
        char text[SD_ADDR_TEXT_LEN];
        sd_addr_text((struct sockaddr *)&ss, text, sizeof text);
    }
    free(hop);

    char *s = fuzz_cstr(data, size);
    char err[256];
    sd_cidr_list list;
    if (sd_cidr_list_parse(s, &list, err, sizeof err) == SD_OK) {
        struct sockaddr_in peer = {.sin_family = AF_INET};
        peer.sin_addr.s_addr = htonl(0x0a000001u);
        (void)sd_cidr_list_contains(&list, (struct sockaddr *)&peer);
    }
    static sd_cidr_list trusted;
    static int ready;
    if (!ready) {
        if (sd_cidr_list_parse("127.0.0.0/8, 10.0.0.0/8, ::1, fd00::/8", &trusted, err,
                               sizeof err) != SD_OK)
            abort();
        ready = 1;
    }
    struct sockaddr_in peer = {.sin_family = AF_INET};
    peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char out[SD_ADDR_TEXT_LEN];
    (void)sd_client_address((struct sockaddr *)&peer, s, &trusted, out, sizeof out);
    free(s);
    return 0;
}
