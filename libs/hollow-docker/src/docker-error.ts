/** An answer other than success, as Docker writes it: a status code and `{"message": ...}`. */
export class DockerApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'DockerApiError';
  }
}

export const notFound = (message: string) => new DockerApiError(404, message);
export const conflict = (message: string) => new DockerApiError(409, message);
export const badRequest = (message: string) => new DockerApiError(400, message);
export const notModified = () => new DockerApiError(304, '');
