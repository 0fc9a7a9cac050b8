// pidfd: Linux process handles for Node.js.
// The declarations use Node's types (NodeJS.Signals, net.Socket): bring @types/node in for users.
/// <reference types="node" preserve="true" />
export { open, Pidfd, type SignalScope, type TerminateOptions } from './pidfd';
export { spawn, Subprocess, type SpawnOptions, type StdioOption } from './subprocess';
export type { KillReason, SupervisionOptions } from './supervise';
export { from } from './from-child';
export { ProcessTree, tree, type TreeMethod, type TreeOptions, type TreeTerminateOptions } from './tree';
export type { TreeSignalError } from './tree-signal';
import './subreaper-tree'; // registers the subreaper method with ./tree
export { features, type Features, type TreeMethodReport } from './features';
export type { ExitStatus } from './exit-status';
export type { ProcessInfo } from './info';
export type { SystemError } from './errors';
export { supported } from './binding';
