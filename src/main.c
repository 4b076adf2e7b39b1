/*
 * main: the command line. Placeholder until the server lands in this same change series.
 */
#include <stdio.h>

int main(void)
{
        puts("claude-proxy " CP_VERSION);
        return 0;
}
