/** Registers the built-in methods (import for its effect). */
import { registerMethod } from './index.js';
import { layeringMethod } from './layering/index.js';
import { dtkMethod } from './dtk/index.js';
import { kmmMethod } from './kmm/index.js';

registerMethod(layeringMethod);
registerMethod(dtkMethod);
registerMethod(kmmMethod);
