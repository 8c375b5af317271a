/** @raev2/t2i — text-to-image on the condition-generic stage 2: captioned data, the text tower, the text condition. */
export * from './data/index.js';
export * from './tower/index.js';
export * from './text/index.js';
export { TextConditioner, TextConditionOptionsSchema, type TextConditionOptions } from './condition/text_condition.js';
