/*
 * Every cap on attacker-controlled counts, sizes and depths, in one place, each with the
 * reason for its number. Hitting one is always reported (a warning or STRAIN_ELIMIT with a
 * message naming it), never silent.
 */
#ifndef STRAIN_UTIL_LIMITS_H
#define STRAIN_UTIL_LIMITS_H

/* Input (configurable through strain_limits; these are the defaults). */
/* Largest real PE we know of in the wild is a few hundred MB (game/installer); 512 MiB keeps
 * a sample in memory on a 24 GiB machine with room for several workers. */
#define STRAIN_DEFAULT_MAX_FILE_SIZE (512ull << 20)
/* An archive argument may hold a whole collection; 4 GiB unpacked bounds one argument. */
#define STRAIN_DEFAULT_MAX_TOTAL_UNPACKED (4ull << 30)
/* Malware collections zip thousands of samples; 100k members bounds the walk. */
#define STRAIN_DEFAULT_MAX_MEMBERS 100000ull
/* Sample sharing nests one or two levels (zip in zip); 4 is generous, 42.zip needs 6. */
#define STRAIN_DEFAULT_MAX_DEPTH 4u
/* Real executables compress 2-10x, sparse images up to ~100x; 42.zip members reach
 * ~1,000,000x. 200x allows real data and refuses bombs. */
#define STRAIN_DEFAULT_MAX_RATIO 200u
/* Directory trees deeper than this are loops or traps. */
#define STRAIN_DEFAULT_MAX_DIR_DEPTH 64u

/* Input layer (src/input/), fixed. */
/* libarchive only tells compressed progress to within a decoder's read-ahead, so a member's
 * compressed size is counted as at least 4 KiB: at 200x nothing under 800 KiB unpacked is
 * ever called a bomb, and a real bomb (1000x+) is still stopped within its first megabytes. */
#define STRAIN_INPUT_RATIO_FLOOR 4096u
/* Distinct files and directories remembered per directory argument to read each once and
 * to tell a loop; 16M entries (~256 MiB) is far past any sample collection. */
#define STRAIN_INPUT_MAX_TREE_NODES (16u << 20)
/* A 7z header, plain or after decoding, is read whole before libarchive sees the archive.
 * 7-Zip spends ~150 bytes per file on names, times and attributes, so the member limit
 * (100k files) needs ~15 MiB; 64 MiB leaves room for long names. */
#define STRAIN_INPUT_7Z_MAX_HEADER (64ull << 20)
/* Decoder memory (LZMA dictionary, PPMd model) a 7z folder may ask for even when the file
 * size limit is lower: 64 MiB is the dictionary of 7-Zip's -mx9. */
#define STRAIN_INPUT_7Z_MIN_DECODER_MEMORY (64ull << 20)

/* PE. NumberOfSections: XP's loader refused more than 96, Vista+ accept up to 65535 and
 * packers use that; pefile stops at 2048 (MAX_SECTIONS), so do we (the hashes must agree). */
#define STRAIN_PE_MAX_SECTIONS 2048u
/* Imports/exports: the largest system DLLs export ~3,000 names (kernelbase), import ~2,000. */
/* Thunks read from import lookup + address tables (terminators included, imports and delay
 * imports together): pefile's MAX_IMPORT_SYMBOLS, counted the way pefile counts, because
 * imphash is defined by the list pefile stops at. Real images stay far below (~2 thunk reads
 * per import). Each descriptor that yields a symbol costs >= 2 reads, so the descriptor cap
 * below is a backstop that the thunk cap reaches first. */
#define STRAIN_PE_MAX_IMPORTS 8192u
#define STRAIN_PE_MAX_IMPORT_DLLS 8192u
#define STRAIN_PE_MAX_EXPORTS 65536u
#define STRAIN_PE_MAX_TLS_CALLBACKS 256u
/* Resource tree: the format nests type/name/language = 3 levels. */
#define STRAIN_PE_MAX_RESOURCE_DEPTH 3u
#define STRAIN_PE_MAX_RESOURCE_ENTRIES 65536u
#define STRAIN_PE_MAX_DEBUG_ENTRIES 64u
/* Version info: real StringTables hold ~10-20 strings; 1024 keeps every legitimate one. */
#define STRAIN_PE_MAX_VERSION_STRINGS 1024u
/* Names: MSVC decorated names exceed 2,000 chars; 4 KiB keeps them, cuts garbage. */
#define STRAIN_MAX_NAME_LEN 4096u

/* ELF */
#define STRAIN_ELF_MAX_SECTIONS 65535u
#define STRAIN_ELF_MAX_SEGMENTS 4096u
#define STRAIN_ELF_MAX_SYMBOLS 2000000u
#define STRAIN_ELF_MAX_NEEDED 1024u
/* Dynamic table entries: real ones hold 30-100 (one per DT_NEEDED plus ~30 fixed tags); a
 * few thousand would already be absurd, 65536 bounds the walk of a hostile one. */
#define STRAIN_ELF_MAX_DYNAMIC 65536u
/* Notes read across all PT_NOTE/SHT_NOTE tables: binaries carry 2-5 (build-id, ABI tag,
 * properties, package metadata), each in a segment and a section; 1024 bounds tables of
 * zero-sized notes repeated in thousands of sections. */
#define STRAIN_ELF_MAX_NOTES 1024u
/* Needed symbol versions (.gnu.version_r aux entries): glibc-linked programs need ~10-40 and
 * the version index is 15 bits; 4096 is well above anything linked. */
#define STRAIN_ELF_MAX_VERSIONS 4096u
/* Dynamic relocations scanned for GOT slots: the largest shared objects (libxul, Chromium)
 * carry ~1-3 million, mostly RELATIVE; 8 million bounds the scan to a fraction of a second. */
#define STRAIN_ELF_MAX_RELOCS 8000000u
/* Names without a NUL in the first STRAIN_MAX_NAME_LEN bytes are copied (truncated); real files
 * have none. 4096 copies bound the memory a table of such names can take to 16 MiB. */
#define STRAIN_ELF_MAX_NAME_COPIES 4096u
/* Section bytes read for entropy, as a multiple of the file size: sections of real files do
 * not overlap (sum <= 1x); hostile ones may all cover the whole file (65535x). */
#define STRAIN_ELF_ENTROPY_FILE_FACTOR 2u

/* Strings */
#define STRAIN_STRINGS_MAX_COUNT 1000000u
/* String features per sample (src/code/genome_strings.c): real modules have hundreds to tens
 * of thousands of distinct strings; 200k bounds the postings one hostile file can add. */
#define STRAIN_ENGINE_MAX_STRINGS 200000u
/* Shortest string that is a feature: 4-5 character runs are mostly bytes of tables and
 * instructions that happen to be printable. */
#define STRAIN_ENGINE_STRING_MIN_LEN 6u
/* Longest: a longer run is a table or a packed pool of many strings (Go), not a string. */
#define STRAIN_ENGINE_STRING_MAX_LEN 1024u
/* Section bytes scanned for strings, as a multiple of the file size: real sections do not
 * overlap; hostile ones may each cover the whole file. */
#define STRAIN_ENGINE_STRINGS_FILE_FACTOR 2u

/* Code recovery (src/code/). Each cap bounds work a hostile file could make unbounded. */
/* Functions per sample: the largest real binaries (browsers, Go/Rust monoliths) have
 * ~300k functions; 1M is past any real program. */
#define STRAIN_CODE_MAX_FUNCTIONS 1000000u
/* Instructions per function: the largest compiler-generated functions (state machines,
 * unrolled crypto, interpreter loops) reach ~50k; beyond that it is junk or a flattened
 * obfuscator, and the genotype of the first 64k is still stable. */
#define STRAIN_CODE_MAX_FUNC_INSNS 65536u
/* Basic blocks per function: ~1 block per 4-5 instructions in real code. */
#define STRAIN_CODE_MAX_FUNC_BLOCKS 16384u
/* Jump-table entries: switch statements of real code have < 1,000 cases; 4096 covers
 * generated lexers and bounds a table whose bound we could not read. */
#define STRAIN_CODE_MAX_JUMPTABLE 4096u
/* Total instructions decoded per sample, per byte of code: linear coverage is 1 decode per
 * ~4 bytes; functions sharing code, rejected gap candidates and overlapping instructions
 * multiply it. 2 per byte (+1M) bounds a file made of overlapping junk. */
#define STRAIN_CODE_DECODE_PER_BYTE 2u
#define STRAIN_CODE_DECODE_BASE 1000000u
/* Rejected function guesses remembered so a repeat is not re-explored (24 bytes each, at
 * most twice that with the table's slack): a speed cache, so past the cap a repeat is just
 * explored again. 1M is past the distinct guesses of any corpus file (esbuild: ~20k). */
#define STRAIN_CODE_MAX_REJECT_MEMO 1000000u
/* .eh_frame records read: one per function, see STRAIN_CODE_MAX_FUNCTIONS. */
#define STRAIN_CODE_MAX_FDES 1000000u
/* Notes in a genome: a handful of distinct facts; more is a hostile file repeating one. */
#define STRAIN_CODE_MAX_NOTES 16u
/* Genome deserialisation: a genome larger than this did not come from a sample within
 * STRAIN_DEFAULT_MAX_FILE_SIZE (fragments <= 1 per byte of code, genes <= functions). */
#define STRAIN_GENOME_MAX_FRAGMENTS 64000000u
/* Strings of a deserialised genome: a sample has at most STRAIN_ENGINE_MAX_STRINGS, but the
 * discount genome of a hunt is the union over its clean samples (512 MiB of hashes). */
#define STRAIN_GENOME_MAX_STRINGS 64000000u

/* Engine: hunt, cluster, yara (src/engine/). */
/* Samples waiting per hunt worker: 2 keeps every worker fed while the walker reads the next
 * file, without letting a fast walker pile up a collection in memory. */
#define STRAIN_HUNT_QUEUE_PER_THREAD 2u
/* Bytes of samples waiting in the hunt queue: 256 MiB bounds memory on the 2-core CI box and a
 * 24 GiB workstation alike; a single sample larger than this still passes, alone. */
#define STRAIN_HUNT_QUEUE_BYTES (256ull << 20)
/* Hunt workers: more threads than this gain nothing (the walker, one thread, feeds them). */
#define STRAIN_HUNT_MAX_THREADS 256u
/* Seeds per hunt: every sample is compared with each; 10,000 seeds already makes a hunt over a
 * large collection take days, the reference database (strain query) is the tool past that. */
#define STRAIN_HUNT_MAX_SEEDS 10000u
/* Retrohunt (hunt_db.c): function and fragment hashes of the database's clean samples held
 * for the discount: 16M hashes is 128 MiB, thousands of clean programs; past it the clean set
 * belongs in a purpose-built discount, and the hunt says so (ELIMIT) rather than swap. */
#define STRAIN_HUNT_DB_CLEAN_HASHES 16000000u
/* Postings requested in one lookup batch (24-32 bytes each: ~32 MiB). A single feature held by
 * more samples is still read, alone. */
#define STRAIN_HUNT_DB_BATCH_POSTINGS 1000000u

/* Cluster LSH: samples sharing one band bucket are all paired; a bucket this large is code
 * every sample shares (a runtime the df discount missed) and pairing it would be all-pairs
 * again, so larger buckets are skipped (counted in the result). */
#define STRAIN_CLUSTER_MAX_BUCKET 256u
/* Samples per clustering: signatures and labels of 10 million samples fit in a few GiB. */
#define STRAIN_CLUSTER_MAX_SAMPLES 10000000u

/* YARA generation. A pattern covers a function's first instructions: 48 bytes is 10-15
 * instructions, specific enough to be rare, short enough to survive edits further down. */
#define STRAIN_YARA_PATTERN_MAX 48u
/* Fixed (non-??) bytes a pattern needs: fewer make hex strings that hit unrelated code. */
#define STRAIN_YARA_MIN_FIXED 12u
/* Strings per rule: 24 by default, 64 at most (libyara slows with many hex strings). */
#define STRAIN_YARA_DEFAULT_STRINGS 24u
#define STRAIN_YARA_MAX_STRINGS 64u
/* Shared functions tried for patterns: each costs a search over every file. */
#define STRAIN_YARA_MAX_CANDIDATES 400u
/* libyara scan timeout per sample, seconds: a hostile file cannot stall a scan forever. */
#define STRAIN_YARA_SCAN_TIMEOUT 60
/* Rounds of dropping strings found in excluded files: each round removes at least one. */
#define STRAIN_YARA_MAX_ROUNDS 16u
/* Text strings of the data tried for a rule: each is searched in every given file, and all
 * in one libyara pass over each excluded file. */
#define STRAIN_YARA_TEXT_CANDIDATES 64u
/* Bytes a text string needs: shorter ones ("unmask") are words any program may hold. */
#define STRAIN_YARA_MIN_TEXT 8u

/* Authenticode (sig/). */
/* Real files carry 1-2 WIN_CERTIFICATE entries (shim: 2); 32 is far past any signer tool. */
#define STRAIN_SIG_MAX_ENTRIES 32u
/* Signatures per file, nested included: signtool appends one per algorithm (2-3 seen). */
#define STRAIN_SIG_MAX_SIGNATURES 64u
/* Nested signatures are one level deep in practice; 4 bounds recursion on crafted blobs. */
#define STRAIN_SIG_MAX_NEST_DEPTH 4u
/* Certificates carried by one SignedData: real chains are 2-6 with cross-certs. */
#define STRAIN_SIG_MAX_CERTS 64u
/* Timestamps per signer (legacy + RFC 3161 attributes); real files carry one. */
#define STRAIN_SIG_MAX_TIMESTAMPS 8u
/* Page hash entries: one per 4 KiB page of a 512 MiB file is 131072. */
#define STRAIN_SIG_MAX_PAGE_HASHES 131072u

/* Store (src/store/): features derived from hostile samples are bounded before they reach
 * the database. */
/* Postings of one sample: a 50 MB binary holds ~100k functions; a few feature kinds per
 * function plus byte n-grams stay under 1M. More is a packer artefact or an attack. */
#define STRAIN_STORE_MAX_POSTINGS 1000000u
/* Genome blob of one sample: ~64 bytes per function for 100k functions is 6.4 MB; 64 MiB
 * leaves room for richer genotypes and stays far below SQLite's 1 GB blob ceiling. */
#define STRAIN_STORE_MAX_GENOME (64u << 20)
/* Keys in one lookup/df batch: a query sample yields a few thousand; 4M keys of 12 bytes is
 * 48 MB of input, the most one call should hold in memory. */
#define STRAIN_STORE_MAX_BATCH 4000000u
/* Postings one lookup may return (24 bytes each: 768 MB); the caller's max_df normally keeps
 * results far below. */
#define STRAIN_STORE_MAX_RESULTS 32000000u

/* Certificate intelligence (engine/certs*.c): abused-certificate lists are user files. */
/* Whole list file: published lists (e.g. the abused-certificate CSVs of research groups) are
 * tens of thousands of rows, a few MB; 64 MiB is far past them and bounded memory. */
#define STRAIN_CERTS_MAX_LIST_BYTES (64u << 20)
/* Columns in one row: the format has 8; 64 leaves room for extra columns people keep. */
#define STRAIN_CERTS_MAX_COLUMNS 64u
/* One cell: issuer DNs are a few hundred bytes; notes a sentence. Matches the store's
 * STRAIN_STORE_NAME_MAX (1023). */
#define STRAIN_CERTS_MAX_CELL 1023u
/* Unrelated-code finding (engine/certs_unrelated.c): one file is compared with at most this
 * many of the vendor software a certificate signs (lowest ids first). One similar sibling
 * clears a file, so legitimate files stop early. A comparison costs ~24 ms for two 1 MB
 * programs (7za 4.0.2 vs 5.2.0, ~2,400 functions each, debug build: load, discount,
 * compare), so 32 bound a query's extra cost below a second. */
#define STRAIN_CERTS_MAX_UNRELATED_PEERS 32u
/* Work one database-wide pass (`strain certs list`) does in all, in genomes loaded plus
 * comparisons made (each a few to ~24 ms for large programs): under a minute. Files reached
 * after it are counted as skipped and reported, never silently cleared. */
#define STRAIN_CERTS_MAX_UNRELATED_COMPARISONS 2048u
/* Whether a feature held by a certificate's own clean software is also held by other clean
 * samples is read from its postings; a feature in more samples than this is common code (a
 * runtime linked everywhere) and counts as clean without reading them. Read 256 features at
 * a time, at most 256 x 1024 postings (6 MB) are held at once. */
#define STRAIN_CERTS_MAX_UNRELATED_DF 1024u
/* Indicators and the info report (info branch) */
/* An indicator list past 10,000 distinct values of one kind is a string table or junk, not
 * something an analyst reads; the report says it was cut. */
#define STRAIN_IOCS_MAX_PER_KIND 10000u

#endif
