import { setFlagsFromString } from 'node:v8';

/**
 * Turns off V8's allocation-site pretenuring for this process. Imported first by main.ts, before
 * the manager allocates anything that lives.
 *
 * V8 moves an allocation site to the old generation for good once most of its objects survive a
 * scavenge, and it never moves it back while the old generation's survival stays above 10 %.
 * Onboarding thousands of engines makes many sites look long-lived; afterwards the same sites make
 * short-lived objects (each listing's engine views, each heartbeat's messages). They then filled
 * the old generation at 80 MB/s, and the manager ran a full mark-compact of its 340 MiB heap every
 * 0.75 s while it was listed, each with 150–440 ms of marking on the main thread (B2 at 5,000 engines,
 * tools/bench/README.md). Without pretenuring, those objects die young in scavenges.
 */
setFlagsFromString('--no-allocation-site-pretenuring');
