#ifndef VEIL_SYNC_COUNTER_H
#define VEIL_SYNC_COUNTER_H

/// Test support: an SQLite VFS that forwards to the default one and counts xSync calls
/// on files whose path starts with a watched prefix, so a test can count the syncs an
/// acknowledged commit caused without strace.

/// Registers the counting VFS as SQLite's default (idempotent). Returns 0 on success.
int veil_sync_counter_install(void);
/// Counts syncs of files under `prefix` from now on, and resets the count.
void veil_sync_counter_watch(const char *prefix);
/// Syncs counted since the last watch.
long veil_sync_counter_count(void);

#endif
