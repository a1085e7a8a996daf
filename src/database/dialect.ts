/** MySQL and MariaDB share a dialect here: the same SQL, locks and migrations. */
export function isMysqlFamily(dataSource: { options: { type: string } }): boolean {
  return dataSource.options.type === 'mysql' || dataSource.options.type === 'mariadb';
}
