#include "sync_counter.h"
#include <sqlite3.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

// The wrapped file is the base VFS's file followed by this trailer; the base VFS's
// methods keep working on it because its own layout comes first. Only xSync is replaced.
typedef struct {
    const sqlite3_io_methods *real;
    int watched;
} Trailer;

static sqlite3_vfs *base_vfs;
static sqlite3_vfs counting_vfs;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *watched_prefix;
static atomic_long syncs;

#define MAX_TABLES 8
static const sqlite3_io_methods *originals[MAX_TABLES];
static sqlite3_io_methods copies[MAX_TABLES];
static int table_count;

static Trailer *trailer(sqlite3_file *file) {
    return (Trailer *)((char *)file + base_vfs->szOsFile);
}

static int counting_sync(sqlite3_file *file, int flags) {
    Trailer *t = trailer(file);
    if (t->watched) atomic_fetch_add(&syncs, 1);
    return t->real->xSync(file, flags);
}

static const sqlite3_io_methods *wrapped(const sqlite3_io_methods *real) {
    const sqlite3_io_methods *result = real;
    pthread_mutex_lock(&lock);
    int i;
    for (i = 0; i < table_count; i++) if (originals[i] == real) break;
    if (i == table_count && table_count < MAX_TABLES) {
        originals[i] = real;
        copies[i] = *real;
        copies[i].xSync = counting_sync;
        table_count++;
    }
    if (i < table_count) result = &copies[i];
    pthread_mutex_unlock(&lock);
    return result;
}

static int counting_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags, int *out_flags) {
    (void)vfs;
    int rc = base_vfs->xOpen(base_vfs, name, file, flags, out_flags);
    if (rc != SQLITE_OK || file->pMethods == NULL) return rc;
    Trailer *t = trailer(file);
    t->real = file->pMethods;
    pthread_mutex_lock(&lock);
    t->watched = name != NULL && watched_prefix != NULL && strncmp(name, watched_prefix, strlen(watched_prefix)) == 0;
    pthread_mutex_unlock(&lock);
    file->pMethods = wrapped(t->real);
    return rc;
}

static int forward_delete(sqlite3_vfs *v, const char *n, int s) { (void)v; return base_vfs->xDelete(base_vfs, n, s); }
static int forward_access(sqlite3_vfs *v, const char *n, int f, int *o) { (void)v; return base_vfs->xAccess(base_vfs, n, f, o); }
static int forward_fullpath(sqlite3_vfs *v, const char *n, int k, char *o) { (void)v; return base_vfs->xFullPathname(base_vfs, n, k, o); }
static void *forward_dlopen(sqlite3_vfs *v, const char *n) { (void)v; return base_vfs->xDlOpen(base_vfs, n); }
static void forward_dlerror(sqlite3_vfs *v, int n, char *o) { (void)v; base_vfs->xDlError(base_vfs, n, o); }
static void (*forward_dlsym(sqlite3_vfs *v, void *h, const char *s))(void) { (void)v; return base_vfs->xDlSym(base_vfs, h, s); }
static void forward_dlclose(sqlite3_vfs *v, void *h) { (void)v; base_vfs->xDlClose(base_vfs, h); }
static int forward_random(sqlite3_vfs *v, int n, char *o) { (void)v; return base_vfs->xRandomness(base_vfs, n, o); }
static int forward_sleep(sqlite3_vfs *v, int m) { (void)v; return base_vfs->xSleep(base_vfs, m); }
static int forward_time(sqlite3_vfs *v, double *o) { (void)v; return base_vfs->xCurrentTime(base_vfs, o); }
static int forward_lasterror(sqlite3_vfs *v, int n, char *o) { (void)v; return base_vfs->xGetLastError ? base_vfs->xGetLastError(base_vfs, n, o) : 0; }
static int forward_time64(sqlite3_vfs *v, sqlite3_int64 *o) { (void)v; return base_vfs->xCurrentTimeInt64(base_vfs, o); }

int veil_sync_counter_install(void) {
    pthread_mutex_lock(&lock);
    int rc = SQLITE_OK;
    if (base_vfs == NULL) {
        sqlite3_vfs *found = sqlite3_vfs_find(NULL);
        if (found == NULL) { rc = SQLITE_ERROR; goto done; }
        base_vfs = found;
        counting_vfs.iVersion = 2;
        counting_vfs.szOsFile = found->szOsFile + (int)sizeof(Trailer);
        counting_vfs.mxPathname = found->mxPathname;
        counting_vfs.zName = "veil-sync-counter";
        counting_vfs.xOpen = counting_open;
        counting_vfs.xDelete = forward_delete;
        counting_vfs.xAccess = forward_access;
        counting_vfs.xFullPathname = forward_fullpath;
        counting_vfs.xDlOpen = forward_dlopen;
        counting_vfs.xDlError = forward_dlerror;
        counting_vfs.xDlSym = forward_dlsym;
        counting_vfs.xDlClose = forward_dlclose;
        counting_vfs.xRandomness = forward_random;
        counting_vfs.xSleep = forward_sleep;
        counting_vfs.xCurrentTime = forward_time;
        counting_vfs.xGetLastError = forward_lasterror;
        counting_vfs.xCurrentTimeInt64 = forward_time64;
        rc = sqlite3_vfs_register(&counting_vfs, 1);
    }
done:
    pthread_mutex_unlock(&lock);
    return rc;
}

void veil_sync_counter_watch(const char *prefix) {
    pthread_mutex_lock(&lock);
    free(watched_prefix);
    watched_prefix = prefix ? strdup(prefix) : NULL;
    atomic_store(&syncs, 0);
    pthread_mutex_unlock(&lock);
}

long veil_sync_counter_count(void) {
    return atomic_load(&syncs);
}
