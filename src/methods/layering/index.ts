/**
 * RHCOS image layering: the driver's modules become part of a custom node OS image that
 * the Machine Config Operator rolls out to a pool — built off-cluster with podman and
 * pinned in a MachineConfig's osImageURL (Day 1 or Day 2), or built on-cluster by the MCO
 * from a MachineOSConfig (4.18+).
 */
import type { Method } from '../method.js';
import { LAYERING_FEATURES } from './features.js';
import { LAYERING_VARIANTS, renderLayering } from './render.js';

export const layeringMethod: Method = {
  id: 'layering',
  title: 'RHCOS image layering',
  variants: LAYERING_VARIANTS,
  features: LAYERING_FEATURES,
  render: renderLayering,
};
