export * from './container-policy';
export * from './host-access';
export * from './check-container';
export * from './policy-file';
export * from './acting-role';
export * from './container-options';
export * from './container-operations';
export * from './image-reference';
