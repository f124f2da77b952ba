#ifndef SD_TEST_PROM_CHECK_H
#define SD_TEST_PROM_CHECK_H

/*
 * Asserts (failing the running cmocka test) that body is valid
 * Prometheus text exposition: every line is "# HELP <name> <text>",
 * "# TYPE <name> <counter|gauge|histogram|summary|untyped>" or a sample
 * "<name>[{<label>="<value>",...}] <value> [<timestamp>]"; every sample
 * belongs to a family whose TYPE came before it (a histogram's samples
 * are <name>_bucket, _sum and _count); each family has one HELP and one
 * TYPE and its samples form one group; no empty lines; body ends in a
 * newline.
 */
void prom_assert_exposition(const char *body);

/*
 * Asserts that Prometheus's own checker, `promtool check metrics` (on
 * PATH), accepts body: the format and its lint rules (counter names end
 * in _total, units in base units, no reserved labels). Its report is
 * printed when it does not.
 */
void prom_assert_promtool(const char *body);

#endif
