import type { AnyCommand } from '../command';
import { caGroup } from './ca';
import { completionCommand } from './completion';
import { engineGroup } from './engine';
import events from './events';
import explain from './explain';
import { imageGroup, imagesCommand, rmiCommand, tagCommand } from './image';
import info from './info';
import inspect from './inspect';
import kill from './kill';
import logs from './logs';
import { pause, unpause } from './pause';
import ps from './ps';
import pull from './pull';
import rename from './rename';
import rm from './rm';
import run from './run';
import start from './start';
import stats from './stats';
import stop from './stop';
import top from './top';
import update from './update';
import version from './version';
import wait from './wait';
import { volumeGroup } from './volume';

/** Every command, in the order --help lists them. */
export const commands: AnyCommand[] = [info, engineGroup, run, ps, start, stop, kill, pause, unpause, wait, rename, update, rm, inspect, logs, top, stats, events, explain, pull, imagesCommand, rmiCommand, tagCommand, imageGroup, volumeGroup, version, caGroup];
commands.push(completionCommand(() => commands));
