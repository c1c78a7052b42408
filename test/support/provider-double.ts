// Tests start the provider test double through the same launcher the demo uses.
export * from '../../testdouble/launch';
