// Privacy: Veil's pure core. Rules and values only: parsing ingest bodies, the ingest
// pipeline and its drop reasons, visitor and user hashing, URL / user-agent / channel
// reduction, the linear PII scanners, the replay sanitiser, site rules. Nothing here
// does I/O (no files, sockets, clocks or randomness except what is injected), so every
// privacy promise can be tested as a function. Storage and Web build on it, never the
// other way round.
