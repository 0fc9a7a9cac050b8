// The ES module entry: the CommonJS build's exports, by name and as the default.
/// <reference types="node" preserve="true" />
import pidfd from './index.js';

export * from './index.js';
export default pidfd;
