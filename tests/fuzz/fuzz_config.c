/* The config file parser (sd_config_load_stream, what sd_config_load_file
 * reads a file with), fed the input as a stream over exactly its bytes. */
#include <stdio.h>

#include "fuzz.h"
#include "statusd/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char *text = fuzz_exact(data, size);
    FILE *f = fmemopen(text, size, "r");
    if (f == NULL)
        abort();
    sd_config cfg;
    sd_config_defaults(&cfg);
    char err[512];
    (void)sd_config_load_stream(&cfg, f, "fuzz.conf", err, sizeof err);
    fclose(f);
    free(text);
    return 0;
}
