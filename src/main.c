#include "cli/cli.h"

int main(int argc, char **argv)
{
    return dl_cli_main(argc, argv);
}
