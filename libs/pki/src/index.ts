export * from './roles';
export * from './certificate-authority';
