import { PluginConflictError, PluginRegistry } from '@mmsim/core';
import { describe, expect, it } from 'vitest';
import { AUTO_RELOCATE_HOOKS, autoRelocatePlugin } from './index.js';

describe('@mmsim/auto-relocate', () => {
  it('provides its hook through the plugin host', () => {
    const registry = new PluginRegistry().use(autoRelocatePlugin);
    expect(registry.names()).toEqual(['@mmsim/auto-relocate']);
    const hooks = registry.all(AUTO_RELOCATE_HOOKS);
    expect(hooks).toHaveLength(1);
    expect(hooks[0].plugin).toBe('@mmsim/auto-relocate');
    expect(hooks[0].impl.describe()).toBe('hello from @mmsim/auto-relocate');
  });

  it('takes options', () => {
    const registry = new PluginRegistry().use(autoRelocatePlugin, { greeting: 'hi' });
    expect(registry.all(AUTO_RELOCATE_HOOKS)[0].impl.describe()).toBe('hi from @mmsim/auto-relocate');
  });

  it('cannot be registered twice', () => {
    const registry = new PluginRegistry().use(autoRelocatePlugin);
    expect(() => registry.use(autoRelocatePlugin)).toThrow(PluginConflictError);
  });
});
