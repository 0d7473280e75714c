/* iprofile: a qemu-user TCG plugin that counts the guest instructions executed per translation
 * block, for a profile by function of an emulated aarch64 program (benchmarks/bench_arm_icount.py
 * --functions N). Counting starts at the marker syscall 0x7e57 whose argument is `start` (the
 * option start=ID; default: from the first instruction) and stops at `stop` (stop=ID; default:
 * never). At exit it writes "START_ADDRESS INSTRUCTIONS" per block that ran to $IPROFILE_OUT.
 * Build: gcc -shared -fPIC -O2 -I<dir of Debian qemu's qemu-plugin.h> $(pkg-config --cflags glib-2.0)
 *        iprofile.c -o libiprofile.so $(pkg-config --libs glib-2.0)                                 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

typedef struct {
    uint64_t pc, insns, count;
} Block;

static GHashTable *blocks;
static GMutex lock;
static int counting = 1;
static int64_t start_id = -1, stop_id = -1;

static void block_ran(unsigned int cpu, void *udata)
{
    Block *b = udata;
    if (counting) __atomic_fetch_add(&b->count, b->insns, __ATOMIC_RELAXED);
}

static void block_translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    const uint64_t pc = qemu_plugin_tb_vaddr(tb), insns = qemu_plugin_tb_n_insns(tb);
    const uint64_t key = pc ^ (insns << 56); /* a block retranslated with another length is another */
    g_mutex_lock(&lock);
    Block *b = g_hash_table_lookup(blocks, (gconstpointer)key);
    if (!b) {
        b = g_new0(Block, 1);
        b->pc = pc, b->insns = insns;
        g_hash_table_insert(blocks, (gpointer)key, b);
    }
    g_mutex_unlock(&lock);
    qemu_plugin_register_vcpu_tb_exec_cb(tb, block_ran, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void on_syscall(qemu_plugin_id_t id, unsigned int vcpu, int64_t num, uint64_t a1, uint64_t a2,
                       uint64_t a3, uint64_t a4, uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8)
{
    if (num != 0x7e57) return;
    if ((int64_t)a1 == start_id) counting = 1;
    if ((int64_t)a1 == stop_id) counting = 0;
}

static void write_block(gpointer key, gpointer value, gpointer file)
{
    const Block *b = value;
    if (b->count) fprintf(file, "%" PRIx64 " %" PRIu64 "\n", b->pc, b->count);
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
    const char *path = getenv("IPROFILE_OUT");
    FILE *file = fopen(path ? path : "iprofile.txt", "w");
    if (!file) return;
    g_hash_table_foreach(blocks, write_block, file);
    fclose(file);
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "start=", 6) == 0) start_id = strtoll(argv[i] + 6, NULL, 0), counting = 0;
        else if (strncmp(argv[i], "stop=", 5) == 0) stop_id = strtoll(argv[i] + 5, NULL, 0);
        else { fprintf(stderr, "iprofile: bad option %s\n", argv[i]); return -1; }
    }
    blocks = g_hash_table_new(g_direct_hash, g_direct_equal);
    qemu_plugin_register_vcpu_tb_trans_cb(id, block_translated);
    qemu_plugin_register_vcpu_syscall_cb(id, on_syscall);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
