// The ES module entry: the CommonJS build's exports, by name and as the default.
import pidfd from './index.js';

export * from './index.js';
export default pidfd;
