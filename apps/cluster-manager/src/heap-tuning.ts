import { setFlagsFromString } from 'node:v8';

/**
 * Turns off V8's allocation-site pretenuring for this process. Imported first by main.ts, before
 * the manager allocates anything that lives.
 *
 * V8 moves an allocation site to the old generation for good once most of its objects survive a
 * scavenge, and it never moves it back while the old generation's survival stays above 10 %.
 * Onboarding thousands of engines makes many sites look long-lived; afterwards the same sites make
 * short-lived objects (each listing's engine views, each heartbeat's messages). They then went
 * straight into the old generation, about 60 MB between two full mark-compacts of a 340 MB heap,
 * one every 0.7–0.9 s while the manager was listed, each with 150–440 ms of marking on the main
 * thread (B2 at 5,000 engines, tools/bench/README.md). Without pretenuring they die young, in
 * scavenges.
 */
setFlagsFromString('--no-allocation-site-pretenuring');
